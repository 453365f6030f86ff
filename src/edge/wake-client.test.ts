import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { MAX_USAGE_REPORT } from '../core/wake.js';
import { waitFor } from '../util/wait-for.js';
import { createWakeClient } from './wake-client.js';

const quiet = { info() {}, warn() {}, error() {} } as unknown as Parameters<typeof createWakeClient>[0]['logger'];

/** A control plane that counts wakes and collects usage reports. */
let server: Server;
let url: string;
let wakes: { deployment_id: string; version_number: number }[];
let reports: string[][];
let answer: (body: { version_number: number }) => { status: number; json: unknown };

before(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      if (req.url === '/api/v1/internal/wake') {
        wakes.push(body as (typeof wakes)[number]);
        const a = answer(body as { version_number: number });
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.json));
        return;
      }
      const ids = body.version_ids as string[];
      // The real server's limit: a longer report is refused, and its versions lose their use.
      if (ids.length > MAX_USAGE_REPORT || req.url?.startsWith('/refuse/')) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_request"}}');
        return;
      }
      reports.push(ids);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  wakes = [];
  reports = [];
  answer = () => ({ status: 200, json: { data: { state: 'starting', retry_after_s: 2 } } });
});

test('a burst of requests to one sleeping version makes one wake call; another version gets its own', async (t) => {
  const client = createWakeClient({ serverUrl: url, token: 't', logger: quiet });
  t.after(() => client.close());
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => client.wake({ deploymentId: 'dep_1', versionNumber: i % 2 === 0 ? 1 : 2 })));
  assert.ok(answers.every((a) => a.state === 'starting'));
  assert.deepEqual(wakes.map((w) => w.version_number).sort(), [1, 2]);
  // Still within the answer's lifetime: no new call.
  await client.wake({ deploymentId: 'dep_1', versionNumber: 1 });
  assert.equal(wakes.length, 2);
});

test('answers are reused only for their lifetime; failures longer than starts', async (t) => {
  let now = 0;
  const client = createWakeClient({ serverUrl: url, token: 't', logger: quiet, now: () => now, answerTtlMs: { starting: 1000, failed: 10_000 } });
  t.after(() => client.close());
  await client.wake({ deploymentId: 'dep_1', versionNumber: 1 });
  now = 1000;
  await client.wake({ deploymentId: 'dep_1', versionNumber: 1 });
  assert.equal(wakes.length, 2);
  answer = () => ({ status: 200, json: { data: { state: 'failed', retry_after_s: 60 } } });
  now = 2000;
  assert.equal((await client.wake({ deploymentId: 'dep_1', versionNumber: 1 })).state, 'failed');
  now = 11_999;
  assert.equal((await client.wake({ deploymentId: 'dep_1', versionNumber: 1 })).state, 'failed');
  assert.equal(wakes.length, 3);
});

test('a version the control plane does not know is not_found; a control plane that is away is unavailable', async (t) => {
  answer = () => ({ status: 404, json: { error: { code: 'version_not_found', message: 'no' } } });
  const client = createWakeClient({ serverUrl: url, token: 't', logger: quiet });
  t.after(() => client.close());
  assert.equal((await client.wake({ deploymentId: 'dep_1', versionNumber: 9 })).state, 'not_found');
  answer = () => ({ status: 404, json: { error: { code: 'route_not_found' } } });
  assert.equal((await client.wake({ deploymentId: 'dep_1', versionNumber: 8 })).state, 'unavailable');
  const away = createWakeClient({ serverUrl: 'http://127.0.0.1:1', token: 't', logger: quiet });
  t.after(() => away.close());
  assert.equal((await away.wake({ deploymentId: 'dep_1', versionNumber: 1 })).state, 'unavailable');
});

test('requests served are reported in one batch per interval, not one call per request', async (t) => {
  const client = createWakeClient({ serverUrl: url, token: 't', logger: quiet, usageReportMs: 50 });
  t.after(() => client.close());
  for (let i = 0; i < 1000; i++) client.used(i % 3 === 0 ? 'ver_a' : 'ver_b');
  await waitFor(() => reports.length === 1, { description: 'a usage report' });
  assert.deepEqual(reports[0]!.sort(), ['ver_a', 'ver_b']);
  client.used('ver_c');
  await waitFor(() => reports.length === 2, { description: 'the next report' });
  assert.deepEqual(reports[1], ['ver_c']);
  // Nothing served, nothing sent; close() flushes what is pending.
  client.used('ver_d');
  await client.close();
  assert.deepEqual(reports[2], ['ver_d']);
});

test('a report of more versions than the server takes at once is sent in chunks it accepts; a refusal is logged', async (t) => {
  const warnings: string[] = [];
  const logger = { ...quiet, warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message) };
  const client = createWakeClient({ serverUrl: url, token: 't', logger, usageReportMs: 50 });
  t.after(() => client.close());
  const ids = Array.from({ length: MAX_USAGE_REPORT * 2 + 5 }, (_, i) => `ver_${i}`);
  for (const id of ids) client.used(id);
  await waitFor(() => reports.flat().length === ids.length, { description: 'every version reported' });
  assert.ok(reports.every((r) => r.length <= MAX_USAGE_REPORT));
  assert.deepEqual(reports.flat().sort(), [...ids].sort());
  assert.deepEqual(warnings, []);

  const refusing = createWakeClient({ serverUrl: `${url}/refuse`, token: 't', logger, usageReportMs: 50 });
  refusing.used('ver_x');
  await refusing.close();
  assert.deepEqual(warnings, ['the control plane refused a usage report']);
});
