// Writes docs/detection.md from the detection table (src/build/frameworks/table.ts).
// Run with `npm run docs:detection`; src/build/frameworks/detection-docs.test.ts fails until the
// page on disk matches.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DETECTION_DOCS_PATH, renderDetectionDocs } from '../src/build/frameworks/detection-docs.js';

const root = fileURLToPath(new URL('..', import.meta.url));
writeFileSync(`${root}${DETECTION_DOCS_PATH}`, renderDetectionDocs());
console.log(`wrote ${DETECTION_DOCS_PATH}`);
