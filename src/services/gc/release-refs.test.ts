import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createFsBlobStore } from '../../blobs/fs/fs-blob-store.js';
import { packageFileRelease } from '../../build/static-file-release.js';
import { fileReleaseBlobs } from '../../core/release-format.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { releaseBlobSink } from '../static-release-store.js';
import { releaseBlobs } from './release-refs.js';

test('a format-2 static release needs its manifest and every file and variant it names; a tar needs itself', async (t) => {
  const work = await makeTempDir('release-refs-test-');
  t.after(() => removeDir(work));
  const blobs = await createFsBlobStore({ root: join(work, 'blobs') });
  const page = Buffer.from('<p>collect me not</p>\n'.repeat(100));
  const release = await packageFileRelease({
    files: [{ path: 'index.html', data: page, size: page.length }, { path: 'a.bin', data: Buffer.from([1, 2, 3]), size: 3 }],
    sink: releaseBlobSink(blobs),
  });
  const needed = await releaseBlobs(blobs, { kind: 'static', artifactSha256: release.sha256 });
  assert.deepEqual(new Set(needed), new Set([release.sha256, ...fileReleaseBlobs(release.manifest)]));
  assert.equal(needed.length, 1 + 2 + 2, 'manifest, two files, br and gzip of the page');

  const tar = await blobs.put(Buffer.concat([Buffer.from('release.json'), Buffer.alloc(1012)]));
  assert.deepEqual(await releaseBlobs(blobs, { kind: 'static', artifactSha256: tar.sha256 }), [tar.sha256]);
  assert.deepEqual(await releaseBlobs(blobs, { kind: 'dynamic', artifactSha256: release.sha256 }), [release.sha256]);
});
