import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingToolHint } from './missing-tool.js';

test('a command not found in dash or bash output gets a hint naming it', () => {
  const dash = '> build\n> vite build\n\nsh: 1: vite: not found\nnpm error code 127\n';
  assert.match(missingToolHint(dash) ?? '', /^`vite` was not found: .*devDependencies.*installed by your build command/);
  assert.match(missingToolHint('bash: line 1: webpack: command not found\n') ?? '', /^`webpack` was not found/);
  assert.match(missingToolHint('/bin/sh: 1: ./node_modules/.bin/tsc: not found\n') ?? '', /^`tsc` was not found/);
});

test('python and pip point at python3', () => {
  assert.match(missingToolHint('sh: 1: python: not found\n') ?? '', /only `python3` exists/);
  assert.match(missingToolHint('sh: 1: pip: not found\n') ?? '', /python3 -m pip/);
});

test('other failures get no hint', () => {
  assert.equal(missingToolHint('npm error 404 Not Found - GET https://registry.npmjs.org/nope\n'), null);
  assert.equal(missingToolHint('Error: module not found in bundle\n'), null);
  assert.equal(missingToolHint(''), null);
});
