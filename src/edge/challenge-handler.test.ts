import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../util/wait-for.js';
import { createChallengeHandler, MAX_IN_FLIGHT_LOOKUPS, type ChallengeHandler } from './challenge-handler.js';

const silent = { info() {}, warn() {}, error() {} };

/** A real server whose requests go to `challenges` first, else answer `app`. */
async function serve(challenges: ChallengeHandler): Promise<{ get: (host: string, path: string) => Promise<{ status: number; body: string }>; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (challenges.matches(req.url)) return challenges.handle(req, res, (req.headers.host ?? '').split(':')[0]!);
    res.end('app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const get = (host: string, path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  return { get, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('ACME challenge paths are answered from the server on served hosts only; ownership tokens are the app\'s paths', async () => {
  const asked: string[] = [];
  let known = false;
  let clock = 1_000_000;
  const fakeFetch = (async (url: string) => {
    asked.push(url);
    return known && url.includes('/tok123?host=a.example.test')
      ? new Response(JSON.stringify({ data: { body: 'tok123.key' } }), { status: 200 })
      : new Response('{"error":{}}', { status: 404 });
  }) as unknown as typeof fetch;
  const served = new Set(['a.example.test', 'b.example.test']);
  const challenges = createChallengeHandler({
    serverUrl: 'http://control.invalid', token: 't', logger: silent, fetch: fakeFetch, serves: (h) => served.has(h), now: () => clock,
  });
  const { get, close } = await serve(challenges);
  try {
    // The edge never answers domain ownership tokens: that path is the host's app, like any other.
    assert.deepEqual(await get('a.example.test', '/.well-known/slipway-challenge/tok123'), { status: 200, body: 'app' });
    assert.equal((await get('unserved.example.test', '/.well-known/acme-challenge/tok123')).status, 404);
    assert.equal(asked.length, 0, 'a host the routes do not serve never reaches the server');

    assert.equal((await get('a.example.test', '/.well-known/acme-challenge/tok123')).status, 404, 'not known yet');
    known = true;
    // A miss is kept a second: asked again at once, the server is not.
    assert.equal((await get('a.example.test', '/.well-known/acme-challenge/tok123')).status, 404);
    assert.equal(asked.length, 1);
    clock += 1_001;
    assert.deepEqual(await get('a.example.test', '/.well-known/acme-challenge/tok123'), { status: 200, body: 'tok123.key' });
    assert.equal(asked.length, 2);
    // A hit is kept for a while.
    clock += 5_000;
    assert.deepEqual(await get('a.example.test', '/.well-known/acme-challenge/tok123'), { status: 200, body: 'tok123.key' });
    assert.equal(asked.length, 2);
    assert.equal((await get('b.example.test', '/.well-known/acme-challenge/tok123')).status, 404, 'a token answers on its host only');
    assert.equal(asked.length, 3);
    for (const path of ['/.well-known/acme-challenge/', '/.well-known/acme-challenge/a.b', `/.well-known/acme-challenge/${'x'.repeat(129)}`, '/.well-known/acme-challenge/tok123?x=1']) {
      assert.equal((await get('a.example.test', path)).status, 404, path);
    }
    assert.equal(asked.length, 3, 'malformed tokens never reach the server');
  } finally {
    await close();
  }
});

test(`at most ${MAX_IN_FLIGHT_LOOKUPS} lookups wait on the server at once; past that the edge answers 503`, async () => {
  let started = 0;
  const waiting: Array<() => void> = [];
  const fakeFetch = (async () => {
    started++;
    await new Promise<void>((resolve) => waiting.push(resolve));
    return new Response('{"error":{}}', { status: 404 });
  }) as unknown as typeof fetch;
  const challenges = createChallengeHandler({ serverUrl: 'http://control.invalid', token: 't', logger: silent, fetch: fakeFetch, serves: () => true });
  const { get, close } = await serve(challenges);
  try {
    const held = Array.from({ length: MAX_IN_FLIGHT_LOOKUPS }, (_, i) => get('a.example.test', `/.well-known/acme-challenge/t${i}`));
    await waitFor(() => started === MAX_IN_FLIGHT_LOOKUPS, { timeoutMs: 10_000, description: 'every lookup waiting on the server' });
    assert.equal((await get('a.example.test', '/.well-known/acme-challenge/one-more')).status, 503);
    assert.equal(started, MAX_IN_FLIGHT_LOOKUPS, 'the refused lookup never reached the server');
    for (const release of waiting) release();
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), Array(MAX_IN_FLIGHT_LOOKUPS).fill(404));
    // Slots are free again.
    const after = get('a.example.test', '/.well-known/acme-challenge/later');
    await waitFor(() => waiting.length === MAX_IN_FLIGHT_LOOKUPS + 1, { timeoutMs: 10_000, description: 'the next lookup reaching the server' });
    waiting.at(-1)!();
    assert.equal((await after).status, 404);
  } finally {
    for (const release of waiting) release();
    await close();
  }
});
