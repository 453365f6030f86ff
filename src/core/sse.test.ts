import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSse, type SseMessage } from './sse.js';

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

async function collect(parts: Uint8Array[], onRetry?: (ms: number) => void): Promise<SseMessage[]> {
  const got: SseMessage[] = [];
  for await (const message of parseSse(chunks(...parts), { onRetry })) got.push(message);
  return got;
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

// LF, CRLF and lone CR line ends, a comment, a multi-line `data`, a `retry`, an unknown field,
// an event without data (not dispatched) and a multi-byte character, ending in a partial message.
const STREAM = ': keep-alive\r\n\r\nevent: upsert\r\ndata: {"a":\r\ndata: 1}\r\nid: 7\r\n\r\n'
  + 'event:remove\rretry: 250\rdata:x\r\rfoo: bar\nevent: snapshot\n\ndata: plain é\n\ndata: dropped';
const EXPECTED: SseMessage[] = [
  { event: 'upsert', data: '{"a":\n1}', id: '7' },
  { event: 'remove', data: 'x', id: '7' },
  { event: 'message', data: 'plain é', id: '7' },
];

test('a stream split into two chunks at every byte offset gives the same messages', async () => {
  const bytes = encode(STREAM);
  for (let at = 0; at <= bytes.length; at++) {
    const retries: number[] = [];
    const got = await collect([bytes.subarray(0, at), bytes.subarray(at)], (ms) => retries.push(ms));
    assert.deepEqual(got, EXPECTED, `split at byte ${at}`);
    assert.deepEqual(retries, [250], `split at byte ${at}`);
  }
});

test('a stream fed in chunks of every size gives the same messages', async () => {
  const bytes = encode(STREAM);
  for (let size = 1; size <= bytes.length; size++) {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
    assert.deepEqual(await collect(parts), EXPECTED, `chunk size ${size}`);
  }
});

test('an event without data is not dispatched, and its fields do not leak into the next one', async () => {
  assert.deepEqual(await collect([encode('event: snapshot\n\ndata: d\n\n')]), [{ event: 'message', data: 'd', id: null }]);
});

test('an empty data line dispatches an empty message', async () => {
  assert.deepEqual(await collect([encode('data\n\n')]), [{ event: 'message', data: '', id: null }]);
});

test('a CR at the very end of the stream ends the line it closes, dispatching the last message', async () => {
  assert.deepEqual(await collect([encode('data: a\r\rdata: b\r'), encode('\r')]), [
    { event: 'message', data: 'a', id: null },
    { event: 'message', data: 'b', id: null },
  ]);
});
