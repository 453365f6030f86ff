import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFsBlobStore } from '../blobs/fs/fs-blob-store.js';
import { isSlipwayError } from '../core/errors.js';
import { withTempDir } from '../util/temp-dir.js';
import { BlobService } from './blob-service.js';
import type { ServiceContext } from './context.js';

test('a download gives the blob with its size; a missing blob or a name that is no sha256 is blob_not_found', () => withTempDir(async (dir) => {
  const blobs = await createFsBlobStore({ root: dir });
  // The service reads only the blob store from its context.
  const service = new BlobService({ blobs } as unknown as ServiceContext);
  const { sha256 } = await blobs.put(Buffer.from('release bytes'));
  const { size, stream } = await service.download(sha256);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  assert.equal(size, 13);
  assert.equal(Buffer.concat(chunks).toString(), 'release bytes');
  for (const name of ['0'.repeat(64), '../../etc/passwd', sha256.toUpperCase()]) {
    await assert.rejects(service.download(name), (e: unknown) => isSlipwayError(e, 'blob_not_found'), name);
  }
}));
