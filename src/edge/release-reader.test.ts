import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { tempDir } from '../../test/support/edge/edge-fixtures.js';
import { readReleaseFile, reloadBodies } from './release-reader.js';
import { dropBodies } from './site-builder.js';
import { buildReleaseTar, releaseEntries, sha256Hex, writeTar, type TarInput } from '../../test/support/edge/test-helpers.js';

const OPTIONS = { maxMemoryFileBytes: 1024, maxResidentBytes: Number.POSITIVE_INFINITY };

async function writeRelease(dir: string, tar: Buffer): Promise<{ path: string; sha256: string }> {
  const path = join(dir, `${sha256Hex(tar)}.tar`);
  await writeFile(path, tar);
  return { path, sha256: sha256Hex(tar) };
}

test('small bodies are kept, large ones located in the tar; evicted bodies read back verified', async (t) => {
  const dir = await tempDir(t);
  const large = Buffer.alloc(5000, 'L');
  const longName = `deep/${'n'.repeat(120)}.txt`;
  const { path, sha256 } = await writeRelease(dir, buildReleaseTar({
    'index.html': { content: 'x'.repeat(900), encodings: ['gzip'] },
    'large.bin': large,
    [longName]: 'long',
  }).tar);
  const site = await readReleaseFile(path, sha256, OPTIONS);
  const index = site.files.get('index.html');
  assert.equal(index?.identity.body?.toString(), 'x'.repeat(900));
  assert.ok(index?.gzip?.body);
  assert.equal(site.files.get(longName)?.identity.body?.toString(), 'long', 'PAX long names are read');
  const big = site.files.get('large.bin')?.identity;
  assert.equal(big?.body, null);
  assert.equal(big?.small, false);
  assert.equal(big?.size, large.length);
  assert.equal(site.memoryBytes, 900 + (index?.gzip?.size ?? 0) + 4);

  // A getter, so the assertions do not narrow a field that eviction and reload change.
  const indexBody = () => index?.identity.body;
  dropBodies(site);
  assert.equal(indexBody(), null);
  await reloadBodies(site);
  assert.equal(site.resident, true);
  assert.equal(indexBody()?.toString(), 'x'.repeat(900));
  assert.equal(big?.body, null, 'large bodies never come into memory');

  // A tar changed under a loaded site is not trusted back into memory.
  dropBodies(site);
  const changed = Buffer.from(buildReleaseTar({ 'index.html': 'x' }).tar);
  await writeFile(path, Buffer.concat([changed, Buffer.alloc(20_000)]));
  await assert.rejects(reloadBodies(site), (e) => isSlipwayError(e, 'blob_corrupt'));
  assert.equal(site.resident, false);
});

test('a release whose small files exceed the resident limit loads with everything on disk', async (t) => {
  const dir = await tempDir(t);
  const { path, sha256 } = await writeRelease(dir, buildReleaseTar({ 'a.txt': 'a'.repeat(800), 'b.txt': 'b'.repeat(800) }).tar);
  const site = await readReleaseFile(path, sha256, { maxMemoryFileBytes: 1024, maxResidentBytes: 1000 });
  assert.equal(site.resident, false);
  assert.equal(site.files.get('a.txt')?.identity.body, null);
  assert.equal(site.memoryBytes, 1600);
});

test('bad releases are invalid_archive; bytes that do not match their name are blob_corrupt', async (t) => {
  const dir = await tempDir(t);
  const base = () => releaseEntries({ 'index.html': { content: 'hi', encodings: ['gzip'] }, 'a.txt': 'a' });
  const mutate = (fn: (entries: TarInput[]) => TarInput[]) => writeTar(fn(base().entries));
  const cases: Record<string, Buffer> = {
    'manifest not first': mutate((e) => [...e.slice(1), e[0] as TarInput]),
    'listed file missing': mutate((e) => e.filter((x) => x.path !== 'files/a.txt')),
    'listed variant missing': mutate((e) => e.filter((x) => x.path !== 'gzip/index.html')),
    'stray entry': mutate((e) => [...e, { path: 'files/extra.txt', data: Buffer.from('x') }]),
    'duplicate entry': mutate((e) => [...e, e[1] as TarInput]),
    'bytes differ from sha': mutate((e) => e.map((x) => (x.path === 'files/a.txt' ? { ...x, data: Buffer.from('b') } : x))),
    'size differs': mutate((e) => e.map((x) => (x.path === 'files/a.txt' ? { ...x, data: Buffer.from('aa') } : x))),
    truncated: mutate((e) => e).subarray(0, 1536),
    empty: Buffer.alloc(0),
  };
  for (const [name, tar] of Object.entries(cases)) {
    const { path, sha256 } = await writeRelease(dir, tar);
    await assert.rejects(readReleaseFile(path, sha256, OPTIONS), (e) => isSlipwayError(e, 'invalid_archive'), name);
  }
  const good = buildReleaseTar({ 'index.html': 'good' });
  const { path } = await writeRelease(dir, good.tar);
  await assert.rejects(readReleaseFile(path, 'f'.repeat(64), OPTIONS), (e) => isSlipwayError(e, 'blob_corrupt'), 'wrong name');
  const damaged = Buffer.from(good.tar);
  damaged.writeUInt8(damaged.readUInt8(100) ^ 0xff, 100); // inside the first header: breaks the tar too
  await writeFile(path, damaged);
  await assert.rejects(readReleaseFile(path, good.sha256, OPTIONS), (e) => isSlipwayError(e, 'blob_corrupt'), 'damaged header');
  await assert.rejects(readReleaseFile(join(dir, 'missing.tar'), good.sha256, OPTIONS), { code: 'ENOENT' });
});
