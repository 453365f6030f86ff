import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pagesFor, type EdgePages } from './branded-pages.js';
import { sendWakeAnswer } from './starting-page.js';
import type { WakeAnswer } from './wake-client.js';

/** Serves one wake answer on a real socket and returns what a client with `accept` sees. */
async function answerFor(wake: WakeAnswer | { answer: WakeAnswer; pages: EdgePages }, accept: string, method = 'GET') {
  const server = createServer((req, res) => sendWakeAnswer(req, res, 'answer' in wake ? wake : { answer: wake }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      request({ port, host: '127.0.0.1', method, headers: { accept }, agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      }).on('error', reject).end();
    });
  } finally {
    server.close();
  }
}

const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';

test('starting: 503 with Retry-After; a browser gets a self-reloading page naming no platform', async () => {
  const page = await answerFor({ state: 'starting', retry_after_s: 2 }, HTML);
  assert.equal(page.status, 503);
  assert.equal(page.headers['retry-after'], '2');
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.match(page.text, /<meta http-equiv="refresh" content="2">/);
  assert.doesNotMatch(page.text, /slipway/i);
  const api = await answerFor({ state: 'starting', retry_after_s: 2 }, 'application/json');
  assert.equal(api.status, 503);
  assert.equal(api.headers['retry-after'], '2');
  assert.match(String(api.headers['content-type']), /^text\/plain/);
  const head = await answerFor({ state: 'starting', retry_after_s: 2 }, HTML, 'HEAD');
  assert.equal(head.text, '');
});

test('a version that cannot start says so, and its page does not reload into the same failure', async () => {
  const page = await answerFor({ state: 'failed', retry_after_s: 60 }, HTML);
  assert.equal(page.status, 502);
  assert.equal(page.headers['retry-after'], '60');
  assert.match(page.text, /could not be started/);
  assert.doesNotMatch(page.text, /http-equiv="refresh"/);
  assert.doesNotMatch(page.text, /slipway/i);
  assert.equal((await answerFor({ state: 'not_found', retry_after_s: 0 }, HTML)).status, 404);
  assert.equal((await answerFor({ state: 'unavailable', retry_after_s: 5 }, HTML)).status, 503);
});

test("a tenant's own starting page is served as given, and reloads through the Refresh header it cannot carry itself", async () => {
  const own = '<p>Acme is warming up</p>';
  const pages = pagesFor({ id: 'ten_a', slug: 'acme', branding: { display_name: 'Acme', pages: { starting: own } } });
  const page = await answerFor({ answer: { state: 'starting', retry_after_s: 3 }, pages }, HTML);
  assert.equal(page.status, 503);
  assert.equal(page.text, own);
  assert.equal(page.headers.refresh, '3');
  assert.equal(page.headers['retry-after'], '3');
  const failed = await answerFor({ answer: { state: 'failed', retry_after_s: 60 }, pages }, HTML);
  assert.equal(failed.status, 502);
  assert.match(failed.text, /Acme/);
  assert.equal(failed.headers.refresh, undefined, 'a failed boot is not reloaded');
});
