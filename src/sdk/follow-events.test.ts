import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlipwayApiError } from './api-error.js';
import { createClient } from './create-client.js';
import { createFakeFetch, jsonResponse, sseResponse } from '../../test/support/sdk/fake-fetch.js';
import { fakeEvent } from '../../test/support/sdk/fixtures.js';

test('followEvents asks for a stream and yields each event, ignoring keep-alives', async () => {
  const e1 = fakeEvent({ id: 'evt_1', type: 'version.queued' });
  const e2 = fakeEvent({ id: 'evt_2', type: 'version.ready' });
  const fake = createFakeFetch(() => sseResponse([
    ': ping\n\n',
    `event: version.queued\nid: evt_1\ndata: ${JSON.stringify(e1)}\n\n`,
    'event: ping\ndata: {}\n\n',
    `event: version.ready\ndata: ${JSON.stringify(e2).slice(0, 10)}`,
    `${JSON.stringify(e2).slice(10)}\n\n`,
  ]));
  const client = createClient({ baseUrl: 'http://api.test', token: 'sk_test', fetch: fake.fetch });
  const got = [];
  for await (const event of client.followEvents('my-site', { limit: 5 })) got.push(event);
  assert.deepEqual(got, [e1, e2]);
  const req = fake.requests[0];
  assert.equal(req?.url.pathname, '/api/v1/deployments/my-site/events');
  assert.equal(req?.url.search, '?follow=true&limit=5');
  assert.equal(req?.headers.get('accept'), 'text/event-stream');
  assert.equal(req?.headers.get('authorization'), 'Bearer sk_test');
});

test('an error message on the stream is thrown as a SlipwayApiError', async () => {
  const wire = { error: { code: 'unavailable', message: 'server stopping', details: {}, request_id: 'req_9' } };
  const fake = createFakeFetch(() => sseResponse([`event: error\ndata: ${JSON.stringify(wire)}\n\n`]));
  const client = createClient({ baseUrl: 'http://api.test', token: 't', fetch: fake.fetch });
  await assert.rejects(async () => { for await (const _ of client.followEvents('my-site')) { /* drain */ } },
    (e: unknown) => e instanceof SlipwayApiError && e.code === 'unavailable' && e.requestId === 'req_9');
});

test('aborting the signal ends the iteration without an error', async () => {
  const abort = new AbortController();
  const event = fakeEvent();
  const fetchImpl = (async (_input: string | URL | Request, init?: RequestInit) => {
    const signal = init?.signal;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify(event)}\n\n`));
        // Never closes: only the abort ends it, as with a live server.
        signal?.addEventListener('abort', () => controller.error(signal.reason));
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  }) as typeof fetch;
  const client = createClient({ baseUrl: 'http://api.test', token: 't', fetch: fetchImpl });
  const got = [];
  for await (const e of client.followEvents('my-site', { signal: abort.signal })) {
    got.push(e);
    abort.abort();
  }
  assert.deepEqual(got, [event]);
});

test('a plain JSON answer to follow yields its events oldest first', async () => {
  const newest = fakeEvent({ id: 'evt_2' });
  const oldest = fakeEvent({ id: 'evt_1' });
  const fake = createFakeFetch(() => jsonResponse(200, { data: [newest, oldest], next_cursor: null }));
  const client = createClient({ baseUrl: 'http://api.test', token: 't', fetch: fake.fetch });
  const got = [];
  for await (const e of client.followEvents('my-site')) got.push(e.id);
  assert.deepEqual(got, ['evt_1', 'evt_2']);
});
