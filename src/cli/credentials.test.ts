import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { jsonResponse } from '../../test/support/sdk/fake-fetch.js';
import { resolveCredentials } from './credentials.js';
import { runCliWith } from '../../test/support/cli/cli-harness.js';

async function home(t: { after: (fn: () => Promise<void>) => void }, credentials?: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-home-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  if (credentials !== undefined) {
    const text = typeof credentials === 'string' ? credentials : JSON.stringify(credentials);
    await writeFile(join(dir, 'credentials.json'), text, { mode: 0o600 });
  }
  return dir;
}

test('SLIPWAY_API_URL and SLIPWAY_TOKEN win when both are set', async (t) => {
  const dir = await home(t, { api_url: 'http://file:1', token: 'sk_file' });
  const creds = await resolveCredentials({ SLIPWAY_API_URL: 'http://env:2', SLIPWAY_TOKEN: 'sk_env', SLIPWAY_HOME: dir });
  assert.deepEqual(creds, { apiUrl: 'http://env:2', token: 'sk_env', source: 'env' });
});

test('otherwise credentials.json in SLIPWAY_HOME is used, even with only one variable set', async (t) => {
  const dir = await home(t, { api_url: 'http://127.0.0.1:7070', token: 'sk_file' });
  const creds = await resolveCredentials({ SLIPWAY_TOKEN: 'sk_env', SLIPWAY_HOME: dir });
  assert.deepEqual(creds, { apiUrl: 'http://127.0.0.1:7070', token: 'sk_file', source: join(dir, 'credentials.json') });
});

test('~/.slipway is the default home', async (t) => {
  const fakeHome = await mkdtemp(join(tmpdir(), 'slipway-user-'));
  t.after(() => rm(fakeHome, { recursive: true, force: true }));
  await assert.rejects(resolveCredentials({ HOME: fakeHome }), (e: unknown) =>
    isSlipwayError(e) && e.message.includes(join(fakeHome, '.slipway', 'credentials.json')));
});

test('no credentials at all tells the user to run npm run up', async (t) => {
  const dir = await home(t);
  await assert.rejects(resolveCredentials({ SLIPWAY_HOME: dir }), (e: unknown) =>
    isSlipwayError(e, 'unauthorized') && e.message.includes('npm run up') && e.message.includes('SLIPWAY_API_URL'));
  const run = await runCliWith(() => assert.fail('no request expected'), ['deployments', 'list'], { env: { SLIPWAY_HOME: dir } });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^error: no Slipway server found: start one with `npm run up`.*\(unauthorized\)\n$/);
});

test('a malformed credentials file is named in the error', async (t) => {
  const broken = await home(t, '{not json');
  await assert.rejects(resolveCredentials({ SLIPWAY_HOME: broken }), (e: unknown) => isSlipwayError(e, 'invalid_json') && e.message.includes(broken));
  const incomplete = await home(t, { api_url: 'http://x' });
  await assert.rejects(resolveCredentials({ SLIPWAY_HOME: incomplete }), (e: unknown) => isSlipwayError(e, 'invalid_request'));
});

test('the CLI calls the API and key found in the credentials file', async (t) => {
  const dir = await home(t, { api_url: 'http://127.0.0.1:7070', token: 'sk_from_file' });
  const run = await runCliWith(() => jsonResponse(200, { data: [], next_cursor: null }), ['deployments', 'list', '--json'], { env: { SLIPWAY_HOME: dir } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.requests[0]?.url.origin, 'http://127.0.0.1:7070');
  assert.equal(run.requests[0]?.headers.get('authorization'), 'Bearer sk_from_file');
  assert.equal(run.stdout, '[]\n');
});
