// A static publish through real processes stores a format-2 release (per-file blobs and a
// manifest, src/core/release-format.ts); a republish stores only what changed, and the edge
// serves both versions, precompressed variants included.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { fileReleaseBlobs, isFileReleaseManifest, type FileReleaseManifest } from '../../src/core/release-format.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
let work: string;

before(async () => {
  platform = await startPlatform();
  work = await mkdtemp(join(tmpdir(), 'slipway-file-release-'));
});
after(async () => {
  await platform?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const blobPath = (sha: string): string => join(platform.home, 'blobs', 'sha256', sha.slice(0, 2), sha);

async function storedBlobs(): Promise<Set<string>> {
  const out = new Set<string>();
  const top = join(platform.home, 'blobs', 'sha256');
  for (const prefix of await readdir(top)) for (const name of await readdir(join(top, prefix))) out.add(name);
  return out;
}

async function publish(dir: string): Promise<{ artifact: string; source: string }> {
  const answer = await platform.cli(['publish', dir, '--deployment', 'files', '--wait', '--json']);
  assert.equal(answer.code, 0, answer.stderr);
  const version = JSON.parse(answer.stdout).version;
  assert.equal(version.state, 'ready');
  return { artifact: version.artifact_sha256, source: version.source_sha256 };
}

test('a republish of one changed file stores only that file and its variants; the edge serves each version', async () => {
  const dir = join(work, 'site');
  const page = (word: string) => `<!doctype html><title>${word}</title>${`<p>${word} static files</p>\n`.repeat(200)}`;
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'index.html'), page('first'));
  for (let i = 0; i < 20; i++) await writeFile(join(dir, 'assets', `part-${i}.css`), `.c${i}{color:red}\n`.repeat(100));
  await writeFile(join(dir, 'package.json'), '{}');

  const v1 = await publish(dir);
  const manifest1 = JSON.parse(await readFile(blobPath(v1.artifact), 'utf8')) as FileReleaseManifest;
  assert.ok(isFileReleaseManifest(await readFile(blobPath(v1.artifact))));
  assert.equal(manifest1.format, 2);
  assert.equal(manifest1.files.length, 21, 'package.json left out');
  for (const sha of fileReleaseBlobs(manifest1)) assert.ok((await storedBlobs()).has(sha), `blob ${sha} stored`);

  const before = await storedBlobs();
  await writeFile(join(dir, 'index.html'), page('second'));
  const v2 = await publish(dir);
  const manifest2 = JSON.parse(await readFile(blobPath(v2.artifact), 'utf8')) as FileReleaseManifest;
  const index = manifest2.files.find((f) => f.path === 'index.html')!;
  const added = [...(await storedBlobs())].filter((sha) => !before.has(sha));
  const expected = [index.sha256, index.variants.br!.sha256, index.variants.gzip!.sha256, v2.artifact, v2.source];
  for (const sha of expected) assert.ok(added.includes(sha), `new blob ${sha}`);
  // Besides those, only the build log.
  assert.ok(added.length <= expected.length + 1, `only the changed file's blobs are new: ${added.length}`);

  const host = 'files.localhost';
  assert.match((await platform.edge(host)).text, /second static files/);
  const br = await platform.edge(host, '/', { 'accept-encoding': 'br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.match(brotliDecompressSync(br.body).toString(), /second static files/);
  assert.match((await platform.edge(host, '/assets/part-3.css')).text, /\.c3\{color:red\}/);
  assert.match((await platform.edge('v1--files.localhost')).text, /first static files/);
});
