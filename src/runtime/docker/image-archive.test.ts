import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isSlipwayError } from '../../core/errors.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import type { EngineApi } from './engine-api.js';
import { saveImage } from './image-archive.js';

// The engine stands in for one saving a big image (4 MiB: finite, so a save that ignores its
// limits finishes instead of filling the disk): the code under test is saveImage's own
// counting and stopping, not the engine.
function bigImageEngine(): { api: EngineApi; body: () => Readable | undefined } {
  let body: Readable | undefined;
  const api: EngineApi = {
    json: () => Promise.reject(new Error('not used')),
    stream: () => {
      const chunk = Buffer.alloc(16 * 1024, 7);
      let left = 256;
      body = new Readable({ read() { this.push(left-- > 0 ? chunk : null); } });
      return Promise.resolve(body);
    },
    close: () => Promise.resolve(),
  };
  return { api, body: () => body };
}

let dir: string;
before(async () => {
  dir = await makeTempDir('image-archive-test-');
});
after(async () => {
  await removeDir(dir);
});

test('a save stops as soon as the image passes maxBytes, and drops the engine request', async () => {
  const engine = bigImageEngine();
  const path = join(dir, 'too-big.tar');
  await assert.rejects(saveImage(engine.api, 'sha256:big', { path, maxBytes: 100_000 }), (err) =>
    isSlipwayError(err, 'build_output_too_large') && err.details.limit === 100_000 && (err.details.bytes as number) <= 100_000 + 16 * 1024);
  assert.ok((await stat(path)).size <= 100_000, 'no more than the limit was written');
  assert.equal(engine.body()?.destroyed, true, 'the engine response is dropped');
});

test('an aborted save stops at once with the signal reason and drops the engine request', async () => {
  const engine = bigImageEngine();
  const abort = new AbortController();
  const saving = saveImage(engine.api, 'sha256:big', { path: join(dir, 'aborted.tar'), signal: abort.signal });
  const reason = new Error('deadline');
  // Abort once bytes are flowing, so the stop is of a running save.
  engine.body()?.once('data', () => abort.abort(reason));
  await assert.rejects(saving, (err) => err === reason);
  assert.equal(engine.body()?.destroyed, true, 'the engine response is dropped');
});

test('an already aborted signal saves nothing', async () => {
  const engine = bigImageEngine();
  const reason = new Error('shutting down');
  await assert.rejects(saveImage(engine.api, 'sha256:big', { path: join(dir, 'never.tar'), signal: AbortSignal.abort(reason) }), (err) => err === reason);
  assert.equal(engine.body(), undefined, 'the engine was not asked');
});
