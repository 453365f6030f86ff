import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dirname, join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { listTar } from '../../test/support/archive/list-tar.js';
import { isSlipwayError } from '../core/errors.js';
import type { ReleaseManifest } from '../core/release-format.js';
import { sha256Buffer } from '../util/sha256.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { precompress, type Compressor } from './precompress.js';
import { packageStaticRelease } from './static-packager.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('static-packager-test-');
});
after(async () => {
  await removeDir(work);
});

const HTML = `<!doctype html><title>t</title>${'<p>hello static world</p>\n'.repeat(200)}`;
const PNG = randomBytes(4000);

async function site(files: Record<string, string | Buffer>): Promise<string> {
  const root = join(work, `site-${counter++}`);
  await mkdir(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

async function readRelease(file: string): Promise<Array<{ path: string; mode: number; mtime: number; body: Buffer }>> {
  return (await listTar(file)).map(({ path, mode, mtime, body }) => ({ path, mode, mtime, body }));
}

test('writes release.json first, then br/, files/, gzip/ entries in byte order', async () => {
  const root = await site({ 'index.html': HTML, 'img/logo.png': PNG, 'a.txt': 'a', 'Z.css': 'b{}'.repeat(100) });
  const outPath = join(work, 'release.tar');
  const result = await packageStaticRelease({ siteDir: root, outPath });
  const entries = await readRelease(outPath);
  assert.deepEqual(
    entries.map((e) => e.path),
    [
      'release.json',
      'br/Z.css',
      'br/index.html',
      'files/Z.css',
      'files/a.txt',
      'files/img/logo.png',
      'files/index.html',
      'gzip/Z.css',
      'gzip/index.html',
    ],
  );
  for (const e of entries) assert.deepEqual([e.mode, e.mtime], [0o644, 0], e.path);
  const manifest = JSON.parse(entries[0]?.body.toString() ?? '') as ReleaseManifest;
  assert.deepEqual(manifest, result.manifest);
  assert.deepEqual(manifest.files, [
    { path: 'Z.css', size: 300, sha256: sha256Buffer(Buffer.from('b{}'.repeat(100))), content_type: 'text/css; charset=utf-8', encodings: ['br', 'gzip'] },
    { path: 'a.txt', size: 1, sha256: sha256Buffer(Buffer.from('a')), content_type: 'text/plain; charset=utf-8', encodings: [] },
    { path: 'img/logo.png', size: PNG.length, sha256: sha256Buffer(PNG), content_type: 'image/png', encodings: [] },
    { path: 'index.html', size: Buffer.byteLength(HTML), sha256: sha256Buffer(Buffer.from(HTML)), content_type: 'text/html; charset=utf-8', encodings: ['br', 'gzip'] },
  ]);
  const body = (p: string): Buffer => entries.find((e) => e.path === p)?.body ?? Buffer.alloc(0);
  assert.equal(body('files/index.html').toString(), HTML);
  assert.deepEqual(body('files/img/logo.png'), PNG);
  assert.equal(brotliDecompressSync(body('br/index.html')).toString(), HTML);
  assert.equal(gunzipSync(body('gzip/index.html')).toString(), HTML);
  assert.ok(body('br/index.html').length < Buffer.byteLength(HTML) * 0.95);
});

test('identical trees give identical sha256, whatever their times and modes', async () => {
  const files = { 'index.html': HTML, 'img/logo.png': PNG, 'js/app.js': 'console.log(1);\n'.repeat(300) };
  const a = await site(files);
  const b = await site(files);
  const old = new Date('1999-09-09T00:00:00Z');
  await utimes(join(a, 'index.html'), old, old);
  await chmod(join(b, 'js/app.js'), 0o755);
  const one = await packageStaticRelease({ siteDir: a, outPath: join(work, 'one.tar') });
  const two = await packageStaticRelease({ siteDir: b, outPath: join(work, 'two.tar') });
  assert.equal(one.sha256, two.sha256);
  assert.equal(one.size, two.size);
});

test('a symlink to a file inside is served as that file; other links are skipped', async () => {
  const root = await site({ 'index.html': HTML, 'docs/page.html': '<p>page</p>' });
  await symlink('docs/page.html', join(root, 'alias.html'));
  await symlink('docs', join(root, 'docs-link'));
  await symlink('/etc/hostname', join(root, 'host.txt'));
  const result = await packageStaticRelease({ siteDir: root, outPath: join(work, 'links.tar') });
  assert.deepEqual(
    result.manifest.files.map((f) => f.path),
    ['alias.html', 'docs/page.html', 'index.html'],
  );
  assert.deepEqual(
    result.skipped.map((s) => s.path),
    ['docs-link', 'host.txt'],
  );
  const entries = await readRelease(join(work, 'links.tar'));
  assert.equal(entries.find((e) => e.path === 'files/alias.html')?.body.toString(), '<p>page</p>');
});

test('an empty site is empty_source', async () => {
  const root = await site({});
  await mkdir(join(root, 'empty-dir'));
  await assert.rejects(packageStaticRelease({ siteDir: root, outPath: join(work, 'never.tar') }), (e) =>
    isSlipwayError(e, 'empty_source'),
  );
});

/** Seeded text that compresses to about half: hex of a sha256 chain. */
function hexText(seed: string, bytes: number): string {
  let out = '';
  for (let i = 0; out.length < bytes; i++) out += createHash('sha256').update(`${seed}:${i}`).digest('hex');
  return out.slice(0, bytes);
}

test('variants past the keep budget wait on disk, not in memory; the release is the same', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`data/${i}.txt`] = hexText(String(i), 256 * 1024);
  const root = await site(files);
  // Tracks every variant made and, before each new one, how many bytes of them are still alive.
  const made: Array<WeakRef<Buffer>> = [];
  let peakAlive = 0;
  const compressor: Compressor = async (data) => {
    gc();
    let alive = 0;
    for (const ref of made) alive += ref.deref()?.length ?? 0;
    peakAlive = Math.max(peakAlive, alive);
    const variants = await precompress(data);
    for (const v of Object.values(variants)) made.push(new WeakRef(v));
    return variants;
  };
  const spilled = await packageStaticRelease({ siteDir: root, outPath: join(work, 'spilled.tar'), compressor, keepBytes: 1024 * 1024 });
  const total = made.reduce((sum, ref) => sum + (ref.deref()?.length ?? 0), 0);
  assert.equal(made.length, 80, 'every file got both variants');
  // 1 MiB kept plus the few files in flight; all ~10 MiB of variants before the fix.
  assert.ok(peakAlive < 3 * 1024 * 1024, `${peakAlive} of ${total} variant bytes were alive at once`);
  const inMemory = await packageStaticRelease({ siteDir: root, outPath: join(work, 'in-memory.tar') });
  assert.equal(spilled.sha256, inMemory.sha256);
  assert.deepEqual((await readdir(work)).filter((name) => name.includes('.spill-')), [], 'the spill directory is removed');
});

test('manifests, lockfiles, dotfiles, dependencies and source maps are left out by default', async () => {
  const root = await site({
    'index.html': HTML, 'package.json': '{}', 'package-lock.json': '{}', 'yarn.lock': '', 'pnpm-lock.yaml': '', 'bun.lockb': 'x',
    '.env': 'SECRET=1', '.env.local': 'SECRET=2', '.git/HEAD': 'ref', 'node_modules/x/index.js': 'x', 'app.js': 'x',
    'app.js.map': '{}', '.well-known/security.txt': 'Contact: x', '.nojekyll': '',
  });
  const result = await packageStaticRelease({ siteDir: root, outPath: join(work, 'rules.tar') });
  assert.deepEqual(result.manifest.files.map((f) => f.path), ['.well-known/security.txt', 'app.js', 'index.html']);
  assert.deepEqual(result.leftOut.map((f) => f.path), [
    '.env', '.env.local', '.git/HEAD', '.nojekyll', 'app.js.map', 'bun.lockb', 'node_modules/x/index.js',
    'package-lock.json', 'package.json', 'pnpm-lock.yaml', 'yarn.lock',
  ]);
  const entries = (await readRelease(join(work, 'rules.tar'))).map((e) => e.path);
  assert.ok(!entries.some((p) => /package\.json|\.env|\.map$/.test(p)), entries.join(' '));
});

test('include globs keep files the rules would leave out', async () => {
  const root = await site({ 'index.html': HTML, 'app.js.map': '{}', '.nojekyll': '', '.env': 'x', 'package.json': '{}' });
  const result = await packageStaticRelease({ siteDir: root, outPath: join(work, 'include.tar'), include: ['*.map', '.nojekyll'] });
  assert.deepEqual(result.manifest.files.map((f) => f.path), ['.nojekyll', 'app.js.map', 'index.html']);
  assert.deepEqual(result.leftOut.map((f) => f.path), ['.env', 'package.json']);
});

test('a site of nothing but left-out files is empty_source naming them', async () => {
  const root = await site({ 'package.json': '{}', '.env': 'x' });
  await assert.rejects(packageStaticRelease({ siteDir: root, outPath: join(work, 'only-left-out.tar') }), (err) => {
    assert.ok(isSlipwayError(err, 'empty_source'));
    assert.match(err.message, /2 left out by rule: \.env, package\.json/);
    return true;
  });
});

test("the hashed output of the framework that built the site is immutable, copies of public/ are not", async () => {
  const source = await site({
    'public/assets/app-Bx1kQ2zY.js': 'x', 'public/assets/logo-DarkMode.svg': '<svg/>',
    'dist/index.html': HTML, 'dist/assets/index-Bx8a9FyQ.js': 'console.log(1);\n'.repeat(300), 'dist/assets/logo.png': PNG,
    // Vite copies public/ as it is: a hashed-looking name there may change under the same name.
    'dist/assets/app-Bx1kQ2zY.js': 'x', 'dist/assets/logo-DarkMode.svg': '<svg/>', 'dist/assets/main-DiwrgTda.js': 'x',
    'dist/_next/static/chunks/main-64ad27b21261a9ce.js': 'x', 'dist/favicon-BXz1k2Yw.ico': 'x',
  });
  const result = await packageStaticRelease({
    siteDir: join(source, 'dist'), outPath: join(work, 'immutable.tar'), framework: 'vite', sourceDir: source,
  });
  const marked = Object.fromEntries(result.manifest.files.map((f) => [f.path, f.immutable ?? false]));
  assert.deepEqual(marked, {
    '_next/static/chunks/main-64ad27b21261a9ce.js': false, 'assets/app-Bx1kQ2zY.js': false, 'assets/index-Bx8a9FyQ.js': true,
    'assets/logo-DarkMode.svg': false, 'assets/logo.png': false, 'assets/main-DiwrgTda.js': true, 'favicon-BXz1k2Yw.ico': false, 'index.html': false,
  });
  const json = (await readRelease(join(work, 'immutable.tar')))[0]?.body.toString() ?? '';
  assert.ok(!json.includes('"immutable":false'), 'the field is left out, not false, so old and new manifests of unhashed sites match');
});

test('files no known framework built are never immutable, hashed names or not (plain files, as_is)', async () => {
  const root = await site({
    'index.html': HTML, 'assets/index-Bx8a9FyQ.js': 'x', 'assets/MainView.js': 'x', 'assets/HeroShot.jpg': PNG,
    '_next/static/chunks/main-64ad27b21261a9ce.js': 'x', '_app/immutable/chunks/dzqr5x1a.js': 'x',
  });
  for (const framework of [undefined, 'static', 'as-is', 'hugo']) {
    const result = await packageStaticRelease({ siteDir: root, outPath: join(work, `plain-${framework}.tar`), framework, sourceDir: root });
    assert.deepEqual(result.manifest.files.filter((f) => f.immutable).map((f) => f.path), [], String(framework));
  }
});
