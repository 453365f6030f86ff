import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildkitTraceReader } from './dockerfile-trace.js';

// A minimal protobuf encoder for the test: just varints and length-delimited fields.
function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}
const field = (n: number, value: Buffer | string): Buffer => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([varint(n * 8 + 2), varint(bytes.length), bytes]);
};
const flag = (n: number): Buffer => Buffer.concat([varint(n * 8), varint(1)]);
const timestamp = field(1, Buffer.alloc(0));
const status = (...parts: Buffer[]): string => Buffer.concat(parts).toString('base64');

test('BuildKit trace messages become numbered, plain log lines', () => {
  const reader = new BuildkitTraceReader();
  const run = 'sha256:run';
  assert.deepEqual(reader.read(status(field(1, Buffer.concat([field(1, run), field(3, '[2/2] RUN npm ci'), field(5, timestamp)])))), ['#1 [2/2] RUN npm ci']);
  // The same vertex again (BuildKit repeats it with each update) adds no line.
  assert.deepEqual(reader.read(status(field(1, Buffer.concat([field(1, run), field(3, '[2/2] RUN npm ci')])))), []);
  assert.deepEqual(reader.read(status(field(3, Buffer.concat([field(1, run), field(4, 'added 3 packages\nok\n')])))), ['#1 added 3 packages', '#1 ok']);
  assert.deepEqual(reader.read(status(field(1, Buffer.concat([field(1, run), field(6, timestamp)])))), ['#1 DONE']);
  assert.deepEqual(reader.read(status(field(1, Buffer.concat([field(1, 'sha256:copy'), field(3, 'COPY . .'), flag(4)])))), ['#2 COPY . .', '#2 CACHED']);
  assert.deepEqual(reader.read(status(field(1, Buffer.concat([field(1, 'sha256:bad'), field(3, 'RUN false'), field(7, 'exit code: 1')])))), ['#3 RUN false', '#3 ERROR: exit code: 1']);
});

test('an unreadable trace message adds nothing instead of failing the build', () => {
  const reader = new BuildkitTraceReader();
  assert.deepEqual(reader.read(Buffer.from([0x0a, 0xff]).toString('base64')), []);
  assert.deepEqual(reader.read('not base64 at all!'), []);
});
