import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { errorResponse, jsonResponse, routes, type FakeHandler } from '../../test/support/sdk/fake-fetch.js';
import { fakeDeployment, fakeOperation, fakePublishResult, fakeVersion } from '../../test/support/sdk/fixtures.js';
import type { Version } from '../sdk/index.js';
import { calls, runCliWith } from '../../test/support/cli/cli-harness.js';

async function site(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'dist'));
  await writeFile(join(dir, 'index.html'), '<h1>hi</h1>');
  await writeFile(join(dir, 'dist', 'app.js'), 'x');
  return dir;
}

async function tarEntries(gz: Buffer): Promise<string[]> {
  const found: string[] = [];
  const parser = new tar.Parser({ onReadEntry: (e) => { found.push(e.path); e.resume(); } });
  await new Promise((resolve) => { parser.on('end', resolve); Readable.from(gz).pipe(parser); });
  return found;
}

/** A fake API where my-site does not exist until created, and publishes queue version 4. */
function api(final: Partial<Version> = {}, extra: Record<string, FakeHandler> = {}): FakeHandler {
  const queued = fakeVersion({ version_number: 4, state: 'queued' });
  let exists = false;
  return routes({
    'GET /deployments/my-site': () => exists ? jsonResponse(200, { data: fakeDeployment() }) : errorResponse(404, 'deployment_not_found'),
    'POST /deployments': (req) => {
      exists = true;
      const spa = JSON.parse(req.body.toString()).spa_fallback === true;
      return jsonResponse(201, { data: fakeDeployment({ state: 'empty', spa_fallback: spa }) });
    },
    'POST /deployments/my-site/publish': () => jsonResponse(202, { data: fakePublishResult(queued) }),
    'GET /operations/op_01jtest': () => jsonResponse(200, { data: fakeOperation({ state: final.state === 'failed' ? 'failed' : 'succeeded' }) }),
    'GET /deployments/dep_01jtest/versions/ver_4': () => jsonResponse(200, { data: fakeVersion({ version_number: 4, ...final }) }),
    'GET /deployments/dep_01jtest': () => jsonResponse(200, { data: fakeDeployment(final.state === 'failed' ? {} : { active_version_id: 'ver_4', active_version_number: 4 }) }),
    ...extra,
  });
}

test('publish creates the missing deployment, uploads the packed dir and waits until ready', async (t) => {
  const dir = await site(t);
  const run = await runCliWith(api(), ['publish', dir, '--deployment', 'my-site', '--wait', '--output-path', 'dist', '--spa']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(calls(run.requests), [
    'GET /deployments/my-site',
    'POST /deployments',
    'POST /deployments/my-site/publish?output_path=dist',
    'GET /operations/op_01jtest?wait_seconds=2',
    'GET /deployments/dep_01jtest/versions/ver_4',
    'GET /deployments/dep_01jtest',
  ]);
  assert.deepEqual(JSON.parse(run.requests[1]?.body.toString() ?? ''), { slug: 'my-site', spa_fallback: true });
  const upload = run.requests[2];
  assert.equal(upload?.headers.get('authorization'), 'Bearer sk_test');
  assert.equal(upload?.headers.get('content-type'), 'application/gzip');
  // No build command: the output folder is the prebuilt site and must survive the `dist` exclusion.
  assert.deepEqual((await tarEntries(upload?.body ?? Buffer.alloc(0))).sort(), ['dist/', 'dist/app.js', 'index.html']);
  assert.match(run.stderr, /Created deployment my-site\nUploading \d+(\.\d)? (B|kB)…\nBuilding…\n/);
  assert.equal(run.stdout, 'Ready: v4 → http://my-site.localhost:8080\n');
});

test('with a build command the output folder is excluded again and the key and command are sent', async (t) => {
  const dir = await site(t);
  const run = await runCliWith(api(), ['publish', dir, '--deployment', 'my-site', '--build-command', 'npm run build', '--output-path', 'dist', '--idempotency-key', 'ci-7']);
  assert.equal(run.code, 0, run.stderr);
  const upload = run.requests.find((r) => r.url.pathname.endsWith('/publish'));
  assert.equal(upload?.url.searchParams.get('build_command'), 'npm run build');
  assert.equal(upload?.headers.get('idempotency-key'), 'ci-7');
  assert.deepEqual(await tarEntries(upload?.body ?? Buffer.alloc(0)), ['index.html']);
  assert.equal(run.stdout, 'Published my-site v4: queued\nOperation: op_01jtest\nURL: http://my-site.localhost:8080\n');
});

test('a concurrent create answering deployment_exists is not an error', async (t) => {
  const dir = await site(t);
  let gets = 0;
  const run = await runCliWith(api({}, {
    'GET /deployments/my-site': () => ++gets === 1 ? errorResponse(404, 'deployment_not_found') : jsonResponse(200, { data: fakeDeployment() }),
    'POST /deployments': () => errorResponse(409, 'deployment_exists'),
  }), ['publish', dir, '--deployment', 'my-site']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(calls(run.requests).slice(0, 4), ['GET /deployments/my-site', 'POST /deployments', 'GET /deployments/my-site', 'POST /deployments/my-site/publish']);
});

test('--spa turns SPA fallback on for an existing deployment', async (t) => {
  const dir = await site(t);
  const run = await runCliWith(api({}, {
    'GET /deployments/my-site': () => jsonResponse(200, { data: fakeDeployment({ spa_fallback: false }) }),
    'PATCH /deployments/dep_01jtest': () => jsonResponse(200, { data: fakeDeployment({ spa_fallback: true }) }),
  }), ['publish', dir, '--deployment', 'my-site', '--spa']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.requests[1]?.body.toString() ?? ''), { spa_fallback: true });
});

test('--json prints exactly the publish data on stdout and nothing on stderr', async (t) => {
  const dir = await site(t);
  const run = await runCliWith(api(), ['publish', dir, '--deployment', 'my-site', '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), fakePublishResult(fakeVersion({ version_number: 4, state: 'queued' })));
  assert.equal(run.stderr, '');
});

test('a failed build exits 1, prints the error and points at the build log', async (t) => {
  const dir = await site(t);
  const error = { code: 'build_failed' as const, message: 'npm run build exited with 1' };
  const run = await runCliWith(api({ state: 'failed', error }), ['publish', dir, '--deployment', 'my-site', '--wait']);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /error: v4 failed: npm run build exited with 1 \(build_failed\)\n/);
  assert.match(run.stderr, /slipway logs my-site --build --version 4/);

  const json = await runCliWith(api({ state: 'failed', error }), ['publish', dir, '--deployment', 'my-site', '--wait', '--json']);
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.stdout).version.state, 'failed');
  assert.equal(JSON.parse(json.stderr).code, 'build_failed');
});

test('a missing directory fails with a clear message before anything is uploaded', async () => {
  const run = await runCliWith(api(), ['publish', '/nonexistent/site', '--deployment', 'my-site']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^error: directory "\/nonexistent\/site" does not exist \(invalid_request\)\n$/);
  assert.deepEqual(run.requests, [], 'no deployment is created for a directory that is not there');
});
