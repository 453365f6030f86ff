#!/usr/bin/env node
// Runs the built CLI from dist/; in a checkout without a build, runs the TypeScript sources
// through tsx instead, so `npx slipway` works either way. Both in this process: a child would
// leave this one resident as a wrapper above `slipway up` (docs/operations.md#memory).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  // `up` starts its children as `node <this file> <command>`, so each registers tsx itself.
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
