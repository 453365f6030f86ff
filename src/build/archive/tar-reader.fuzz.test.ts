/**
 * Random tar and tar.gz structures through the upload extractor: random entries (names with
 * `..`, absolute paths, non-UTF-8 bytes; files, folders, links, metadata headers), random data
 * after the end, truncation at a random point and random byte flips, streamed in random chunk
 * sizes. Whatever arrives, the extractor either succeeds or refuses with a 4xx SlipwayError
 * (never another exception, never a hang), writes nothing outside its destination (and nothing
 * at all when it refuses), and never holds the event loop for long.
 */
import { MAX_STALL_MS } from '../../../test/support/event-loop.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readlink } from 'node:fs/promises';
import { join, relative, resolve, dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fuzzParams } from '../../../test/support/fuzz.js';
import { HTTP_STATUS } from '../../api/http-status.js';
import { SlipwayError } from '../../core/errors.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { extractUpload } from './extract-upload.js';
import { paxEntry, rawTar, type RawEntry } from '../../../test/support/archive/raw-tar-fixture.js';

const LIMITS = { maxUploadBytes: 4 * 1024 * 1024, maxUnpackedBytes: 256 * 1024, maxFiles: 40 };
const PER_RUN_MS = 5000;

let work: string;
let run = 0;
before(async () => {
  work = await makeTempDir('tar-reader-fuzz-');
});
after(async () => {
  await removeDir(work);
});

const segment = fc.constantFrom('a', 'b', 'index.html', '..', '.', '', 'caf\u00e9', 'x'.repeat(120), 'd\\e', 'n\u0001');
const name = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b)),
);
const entry: fc.Arbitrary<RawEntry> = fc.oneof(
  fc.record({ name, body: fc.string({ maxLength: 700 }) }),
  fc.record({ name, type: fc.constant('5') }),
  fc.record({ name, type: fc.constantFrom('2', '1'), linkname: fc.constantFrom('a', '../a', '/etc/passwd', 'b/../../c', 'index.html') }),
  fc.record({ name, type: fc.constantFrom('3', '4', '6', 'S', 'V') }),
  fc.record({ path: fc.string({ maxLength: 200 }), size: fc.constantFrom('1', '99999999', '-5', 'x') }).map((r) => paxEntry(r)),
  fc.record({ name: fc.constant('././@LongLink'), type: fc.constant('L'), body: fc.string({ minLength: 1, maxLength: 300 }) }),
  fc.record({ name, body: fc.string({ maxLength: 100 }), size: fc.nat({ max: 4096 }) }),
);
const archive = fc.record({
  entries: fc.array(entry, { maxLength: 8 }),
  trailing: fc.oneof(fc.constant(Buffer.alloc(0)), fc.nat({ max: 1_200_000 }).map((n) => Buffer.alloc(n)), fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b))),
  end: fc.boolean(),
  gzip: fc.boolean(),
  cutAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  flips: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
  chunk: fc.integer({ min: 1, max: 70_000 }),
});

type Archive = typeof archive extends fc.Arbitrary<infer T> ? T : never;

function build(a: Archive): Buffer {
  let bytes = Buffer.concat([rawTar(a.entries, { end: a.end }), a.trailing]);
  if (a.gzip) bytes = gzipSync(bytes, { level: 1 });
  if (a.cutAt !== null) bytes = bytes.subarray(0, Math.floor(bytes.length * a.cutAt));
  bytes = Buffer.from(bytes);
  for (const [at, xor] of a.flips) if (bytes.length > 0) bytes[Math.floor(at * (bytes.length - 1))]! ^= xor;
  return bytes;
}

function* chunks(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Every path under `dir`, and for each symlink where it points (lexically). */
async function walk(dir: string, root: string, out: string[] = []): Promise<string[]> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.isSymbolicLink()) out.push(resolve(dirname(path), await readlink(path)));
    out.push(path);
    if (info.isDirectory()) await walk(path, root, out);
  }
  return out;
}

test('random archives: success or a 4xx refusal, nothing outside the destination, no stall, no hang', async () => {
  let maxStallMs = 0;
  await fc.assert(
    fc.asyncProperty(archive, async (a) => {
      const box = join(work, `run-${run++}`);
      const dest = join(box, 'dest');
      await mkdir(box);
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        extractUpload({ input: Readable.from(chunks(build(a), a.chunk)), format: a.gzip ? 'tgz' : 'tar', destDir: dest, limits: LIMITS }).then(
          () => 'ok' as const,
          (err: unknown) => err,
        ),
        new Promise((resolveTimeout) => (timer = setTimeout(() => resolveTimeout('hang'), PER_RUN_MS))),
      ]);
      clearTimeout(timer);
      histogram.disable();
      maxStallMs = Math.max(maxStallMs, histogram.max / 1e6);
      assert.notEqual(outcome, 'hang', 'the read must finish');
      if (outcome !== 'ok') {
        assert.ok(outcome instanceof SlipwayError, `not a SlipwayError: ${String(outcome)}`);
        const status = HTTP_STATUS[outcome.code];
        assert.ok(status >= 400 && status < 500, `${outcome.code} is ${status}`);
      }
      assert.deepEqual(await readdir(box), ['dest'], 'nothing beside the destination');
      const inside = await walk(dest, dest);
      if (outcome !== 'ok') assert.deepEqual(inside, [], 'a refusal leaves nothing written');
      for (const path of inside) assert.ok(!relative(dest, path).startsWith('..'), `${path} is outside`);
      await removeDir(box);
    }),
    fuzzParams(60),
  );
  assert.ok(maxStallMs < MAX_STALL_MS, `the event loop stalled ${maxStallMs} ms (limit ${MAX_STALL_MS})`);
});
