import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, type SseEvent } from './sse-parser.js';

test('parses events split anywhere, with LF, CRLF and CR line ends', () => {
  const stream = ': comment\r\nevent: upsert\r\ndata: {"a":\r\ndata: 1}\r\nid: 7\r\n\r\nevent:remove\rdata:x\r\rdata: plain\n\n';
  const expected: SseEvent[] = [
    { event: 'upsert', data: '{"a":\n1}' },
    { event: 'remove', data: 'x' },
    { event: 'message', data: 'plain' },
  ];
  for (let size = 1; size <= stream.length; size++) {
    const parser = new SseParser();
    const got: SseEvent[] = [];
    for (let i = 0; i < stream.length; i += size) got.push(...parser.push(stream.slice(i, i + size)));
    assert.deepEqual(got, expected, `chunk size ${size}`);
  }
});

test('an event without data is not dispatched, and fields reset after each event', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('event: snapshot\n\ndata: d\n\n'), [{ event: 'message', data: 'd' }]);
});
