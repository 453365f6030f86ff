import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { isSlipwayError } from '../../core/errors.js';
import { waitFor } from '../../util/wait-for.js';
import { paxEntry, rawTar } from '../../../test/support/archive/raw-tar-fixture.js';
import { readTar, type TarReadEntry } from './tar-reader.js';

const longLink = `${'t'.repeat(150)}/target`;
const longPath = `${'p'.repeat(150)}/file.txt`;

/** Reads `tar` (in chunks of `chunk` bytes), each entry's fields and body, and checks no two handlers overlap. */
async function readAll(tar: Buffer, chunk = tar.length): Promise<Array<Record<string, unknown>>> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < tar.length; at += chunk) pieces.push(tar.subarray(at, at + chunk));
  const seen: Array<Record<string, unknown>> = [];
  let inHandler = false;
  await readTar({
    input: Readable.from(pieces),
    gzip: 'sniff',
    onEntry: async (entry: TarReadEntry) => {
      assert.equal(inHandler, false, 'one entry at a time');
      inHandler = true;
      const chunks: Buffer[] = [];
      for await (const part of entry) chunks.push(part as Buffer);
      seen.push({ path: entry.path, type: entry.type, size: entry.size, mode: entry.mode, linkpath: entry.linkpath, body: Buffer.concat(chunks).toString() });
      inHandler = false;
    },
  });
  return seen;
}

const sample = rawTar([
  { name: 'dir/', type: '5', mode: 0o755 },
  { name: 'dir/run.sh', body: '#!/bin/sh\n'.repeat(100), mode: 0o755 },
  paxEntry({ path: longPath }),
  { name: 'short', body: 'long path' },
  { name: '././@LongLink', type: 'K', body: `${longLink}\0` },
  { name: 'link', type: '2', linkname: 'short-target' },
]);

const expected = [
  { path: 'dir/', type: 'Directory', size: 0, mode: 0o755, linkpath: undefined, body: '' },
  { path: 'dir/run.sh', type: 'File', size: 1000, mode: 0o755, linkpath: undefined, body: '#!/bin/sh\n'.repeat(100) },
  { path: longPath, type: 'File', size: 9, mode: 0o644, linkpath: undefined, body: 'long path' },
  { path: 'link', type: 'SymbolicLink', size: 0, mode: 0o644, linkpath: longLink, body: '' },
];

test('each entry comes with its header fields (PAX and GNU long names applied) and its body, one at a time, whatever the chunking', async () => {
  for (const chunk of [1, 7, 512, 100_000]) assert.deepEqual(await readAll(sample, chunk), expected, `chunks of ${chunk}`);
  assert.deepEqual(await readAll(gzipSync(sample), 333), expected, 'gzipped');
});

test('a body its handler leaves unread is passed over, and the next entry still comes', { timeout: 10_000 }, async () => {
  const tar = rawTar([{ name: 'big', body: Buffer.alloc(3 * 1024 * 1024, 'b') }, { name: 'after', body: 'read me' }]);
  const bodies = new Map<string, string>();
  const result = await readTar({
    input: Readable.from([tar]),
    gzip: false,
    onEntry: async (entry) => {
      if (entry.path === 'big') return;
      const chunks: Buffer[] = [];
      for await (const part of entry) chunks.push(part as Buffer);
      bodies.set(entry.path, Buffer.concat(chunks).toString());
    },
  });
  assert.deepEqual(result, { entries: 2, gzip: false });
  assert.deepEqual([...bodies], [['after', 'read me']]);
});

test('a handler that throws stops the read with its own error, even while its body is still arriving', async () => {
  const mine = new Error('refused by the handler');
  const err = await readTar({
    input: Readable.from([rawTar([{ name: 'huge', size: 2 ** 40 }], { end: false })]),
    gzip: false,
    onEntry: () => {
      throw mine;
    },
  }).catch((e: unknown) => e);
  assert.equal(err, mine);
});

test('a body cut short fails the read with invalid_archive, and the handler reading it sees it fail', async () => {
  const whole = rawTar([{ name: 'cut', body: 'c'.repeat(5000) }], { end: false });
  let handlerSaw: unknown;
  const err = await readTar({
    input: Readable.from([whole.subarray(0, 2048)]),
    gzip: false,
    onEntry: async (entry) => {
      try {
        for await (const part of entry) void part;
      } catch (e) {
        handlerSaw = e;
        throw e;
      }
    },
  }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, 'invalid_archive'), String(err));
  assert.equal(handlerSaw, err);
});

test('metadata over 1 MiB and entry types with no place in a tree are refused with unsafe_archive', async () => {
  const cases = [
    rawTar([{ name: 'PaxHeader/x', type: 'x', body: Buffer.alloc(1024 * 1024 + 1, 'a') }, { name: 'a', body: 'x' }]),
    rawTar([{ name: 'sparse', type: 'S' }]),
    rawTar([{ name: 'label', type: 'V' }]),
  ];
  for (const tar of cases) {
    const err = await readTar({ input: Readable.from([tar]), gzip: false, onEntry: (e) => void e.resume() }).catch((e: unknown) => e);
    assert.ok(isSlipwayError(err, 'unsafe_archive'), String(err));
  }
});

test('an empty GNU long name does not hide the non-UTF-8 name of the header after it', async () => {
  const latin1 = Buffer.from('caf\xe9.txt', 'latin1');
  const refusal = async (tar: Buffer) => {
    const err = await readTar({ input: Readable.from([tar]), gzip: false, onEntry: (e) => void e.resume() }).catch((e: unknown) => e);
    assert.ok(isSlipwayError(err), `read without a refusal: ${String(err)}`);
    return { code: err.code, message: err.message };
  };
  const alone = await refusal(rawTar([{ name: latin1, body: 'x' }]));
  assert.equal(alone.code, 'unsafe_archive');
  // The walk ignores an empty long name, so the header's own name is the one that counts.
  assert.deepEqual(await refusal(rawTar([{ name: '././@LongLink', type: 'L', body: '' }, { name: latin1, body: 'x' }])), alone);
});

test('a handler that waits holds back the read: a 64 MiB entry is not pulled in while it is unread', { timeout: 60_000 }, async () => {
  const size = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'z');
  const counter = { pulled: 0 };
  async function* archive(): AsyncGenerator<Buffer> {
    const tar = rawTar([{ name: 'big', size }], { end: false });
    counter.pulled += tar.length;
    yield tar;
    for (let sent = 0; sent < size; sent += chunk.length) {
      counter.pulled += chunk.length;
      yield chunk;
    }
    counter.pulled += 1024;
    yield Buffer.alloc(1024);
  }
  let pulledWhileWaiting = -1;
  let read = 0;
  await readTar({
    input: Readable.from(archive(), { objectMode: false }),
    gzip: false,
    onEntry: async (entry) => {
      // Wait until the pull has stood still (a reader without backpressure would run to the end).
      let last = -1;
      let still = 0;
      await waitFor(() => {
        still = counter.pulled === last ? still + 1 : 0;
        last = counter.pulled;
        return still >= 10 || counter.pulled >= size;
      }, { intervalMs: 10, timeoutMs: 30_000, description: 'the pull to stand still' });
      pulledWhileWaiting = counter.pulled;
      for await (const part of entry) read += (part as Buffer).length;
    },
  });
  assert.ok(pulledWhileWaiting < 1024 * 1024, `${pulledWhileWaiting} bytes pulled while the handler waited`);
  assert.equal(read, size);
});
