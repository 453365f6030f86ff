import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorResponse, jsonResponse, routes } from '../../test/support/sdk/fake-fetch.js';
import type { DetectResult } from '../sdk/index.js';
import { calls, runCliWith } from '../../test/support/cli/cli-harness.js';
import { describePlan } from './commands/detect.js';

const vitePlan: DetectResult = {
  kind: 'static', detected: 'vite',
  reasons: ['package.json depends on vite (^6.0.0)', "output: dist (Vite's default)"],
  fetch_tools: [], install: [['npm', 'ci', '--no-audit', '--no-fund', '--include=dev']],
  build_command: 'npm run build', output_path: 'dist', run_command: null, port: null, package_root: null,
};

async function project(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-detect-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'package.json'), '{"dependencies":{"vite":"^6.0.0"}}');
  return dir;
}

test('detect packs the directory, asks the server, and prints the plan with its reasons', async (t) => {
  const dir = await project(t);
  const run = await runCliWith(routes({ 'POST /detect': () => jsonResponse(200, { data: vitePlan }) }), ['detect', dir, '--kind', 'static']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(calls(run.requests), ['POST /detect?kind=static']);
  assert.equal(run.requests[0]!.headers.get('content-type'), 'application/gzip');
  assert.equal(run.stdout, [
    'framework: vite',
    'kind:      static',
    'install:   npm ci --no-audit --no-fund --include=dev',
    'build:     npm run build',
    'output:    dist',
    'why:',
    '  - package.json depends on vite (^6.0.0)',
    "  - output: dist (Vite's default)",
    '',
  ].join('\n'));
});

test('detect --json prints the API data; --as-is travels as as_is=true', async (t) => {
  const dir = await project(t);
  const run = await runCliWith(routes({ 'POST /detect': () => jsonResponse(200, { data: vitePlan }) }), ['detect', dir, '--json', '--as-is']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), vitePlan);
  assert.deepEqual(calls(run.requests), ['POST /detect?as_is=true']);
});

test('a refusal is the error, with its code', async (t) => {
  const dir = await project(t);
  const run = await runCliWith(routes({ 'POST /detect': () => errorResponse(422, 'build_required', { message: 'this source needs a build' }) }), ['detect', dir]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr, 'error: this source needs a build (build_required)\n');
});

test('detect says when an image runs its own command instead of printing an empty run line', () => {
  const plan: DetectResult = {
    kind: 'dynamic', detected: 'dockerfile', reasons: ['Dockerfile found'], fetch_tools: [], install: [],
    build_command: null, output_path: null, run_command: '', port: 3000, package_root: null,
  };
  assert.match(describePlan(plan), /^run: +the image's own CMD\/ENTRYPOINT$/m);
  assert.match(describePlan({ ...plan, run_command: 'httpd -f' }), /^run: +httpd -f$/m);
});
