import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineRedactor, REDACTED } from '../core/redact.js';
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

test('terminal escapes are stripped from the log and the tail, newlines and tabs kept', () => {
  const { log, out } = collect(1000);
  log.push('stdout', Buffer.from('\x1b[1m\x1b[32mvite\x1b[39m v5.4.0 \x1b[2mbuilding\x1b[22m\n\tdist/\x1b[36mindex.html\x1b[39m\n'));
  log.push('stderr', Buffer.from('\x1b]0;title\x07\x1b[31merror\x1b[0m\n'));
  log.flush();
  assert.deepEqual(out, ['vite v5.4.0 building\n\tdist/index.html\n', 'error\n']);
  assert.doesNotMatch(log.tail(), /\x1b/);
  assert.match(log.tail(), /\tdist\/index.html\n/);
});

test('a secret printed with colour codes in it is still masked by the redactor downstream', () => {
  const secret = 'sk_live_abcdef123456';
  const written: string[] = [];
  const redactor = createLineRedactor([secret], (text) => written.push(text));
  const log = new BuildLog(10_000, (chunk) => redactor.write(chunk));
  log.push('stdout', Buffer.from(`token: \x1b[33msk_live_\x1b[1mabcdef123456\x1b[0m\n`));
  log.flush();
  redactor.end();
  assert.equal(written.join(''), `token: ${REDACTED}\n`);
});
