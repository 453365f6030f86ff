import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DETECTION_DOCS_PATH, renderDetectionDocs } from './detection-docs.js';
import { FRAMEWORKS } from './table.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('docs/detection.md is what the generator makes from the table now (run npm run docs:detection)', async () => {
  const onDisk = await readFile(`${root}${DETECTION_DOCS_PATH}`, 'utf8');
  assert.equal(onDisk, renderDetectionDocs());
});

test('the page lists every rule, in the order they are tried', () => {
  const page = renderDetectionDocs();
  let at = 0;
  for (const [i, rule] of FRAMEWORKS.entries()) {
    const next = page.indexOf(`| ${i + 1} | ${rule.name} (\`${rule.id}\`)`, at);
    assert.ok(next > at, rule.id);
    at = next;
  }
});
