import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildLog } from './build-log.js';

function collect(maxBytes: number): { log: BuildLog; out: string[] } {
  const out: string[] = [];
  return { log: new BuildLog(maxBytes, (c) => out.push(c)), out };
}

test('passes whole lines on, holding partial ones per stream', () => {
  const { log, out } = collect(1000);
  log.push('stdout', Buffer.from('hel'));
  log.push('stderr', Buffer.from('err 1\nerr'));
  log.push('stdout', Buffer.from('lo\nwor'));
  assert.deepEqual(out, ['err 1\n', 'hello\n']);
  log.flush();
  assert.deepEqual(out, ['err 1\n', 'hello\n', 'wor\n', 'err\n']);
});

test('a multi-byte character split across chunks survives', () => {
  const { log, out } = collect(1000);
  const bytes = Buffer.from('é€\n');
  log.push('stdout', bytes.subarray(0, 1));
  log.push('stdout', bytes.subarray(1, 3));
  log.push('stdout', bytes.subarray(3));
  assert.deepEqual(out, ['é€\n']);
});

test('caps the log with one note, while the tail keeps the end', () => {
  const { log, out } = collect(20);
  for (let i = 0; i < 100; i++) log.push('stdout', Buffer.from(`line ${i}\n`));
  log.flush();
  assert.deepEqual(out.slice(0, 2), ['line 0\n', 'line 1\n']);
  assert.equal(out.length, 3);
  assert.match(out[2] ?? '', /log truncated: the build printed more than 20 bytes/);
  assert.ok(log.tail().endsWith('line 98\nline 99\n'));
});
