import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { isSlipwayError } from '../core/errors.js';
import { packDirectory } from './pack-directory.js';

async function tree(files: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'slipway-pack-'));
  for (const file of files) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), `content of ${file}`);
  }
  return root;
}

/** Entry path → type, read back from the archive. */
async function entries(archive: Buffer): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const parser = new tar.Parser({ onReadEntry: (e) => { found.set(e.path.replace(/\/$/, ''), e.type); e.resume(); } });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve).on('error', reject);
    Readable.from(archive).pipe(parser);
  });
  return found;
}

const FILES = [
  'index.html', 'src/app.js', 'src/build/keep.js', 'node_modules/x/i.js', 'pkg/node_modules/y.js', '.git/HEAD',
  'lib/__pycache__/m.pyc', 'dist/index.html', 'dist/public/a.js', 'build/out.js', 'target/t', '.next/cache/c', '.next/server.js',
];

test('applies the snapshot exclusions: anywhere for caches, root-only for build outputs', async (t) => {
  const root = await tree(FILES);
  t.after(() => rm(root, { recursive: true, force: true }));
  const got = [...(await entries(await packDirectory(root))).keys()].filter((p) => !['src', 'pkg', 'lib', '.next', 'src/build'].includes(p));
  assert.deepEqual(got.sort(), ['.next/server.js', 'index.html', 'src/app.js', 'src/build/keep.js'].sort());
});

test('keepPath keeps an excluded output folder, and only the kept branch of an excluded parent', async (t) => {
  const root = await tree([...FILES, 'dist/node_modules/z.js']);
  t.after(() => rm(root, { recursive: true, force: true }));
  const whole = await entries(await packDirectory(root, { keepPath: './dist/' }));
  assert.ok(whole.has('dist/index.html') && whole.has('dist/public/a.js'));
  assert.ok(!whole.has('dist/node_modules/z.js'), 'exclusions still apply inside the kept folder');
  assert.ok(!whole.has('build/out.js'));
  const branch = await entries(await packDirectory(root, { keepPath: 'dist/public' }));
  assert.ok(branch.has('dist/public/a.js'));
  assert.ok(!branch.has('dist/index.html'), 'siblings of the kept path inside an excluded folder stay out');
});

test('keeps symlinks that stay inside the directory and skips those that escape', async (t) => {
  const root = await tree(['index.html', 'assets/a.css']);
  t.after(() => rm(root, { recursive: true, force: true }));
  await symlink('../index.html', join(root, 'assets', 'home.html'));
  await symlink('assets', join(root, 'static'));
  await symlink('../../etc/passwd', join(root, 'assets', 'escape'));
  await symlink('/etc/passwd', join(root, 'absolute'));
  const got = await entries(await packDirectory(root));
  assert.equal(got.get('assets/home.html'), 'SymbolicLink');
  assert.equal(got.get('static'), 'SymbolicLink');
  assert.ok(!got.has('assets/escape') && !got.has('absolute'));
});

test('refuses a missing directory, a file, and a directory with nothing to publish', async (t) => {
  const root = await tree(['node_modules/x.js', 'file.txt']);
  t.after(() => rm(root, { recursive: true, force: true }));
  await assert.rejects(packDirectory(join(root, 'nope')), (e: unknown) => isSlipwayError(e, 'invalid_request') && /does not exist/.test(e.message));
  await assert.rejects(packDirectory(join(root, 'file.txt')), (e: unknown) => isSlipwayError(e, 'invalid_request') && /not a directory/.test(e.message));
  await mkdir(join(root, 'empty', 'sub', '.git'), { recursive: true });
  await writeFile(join(root, 'empty', 'sub', '.git', 'HEAD'), 'x');
  await assert.rejects(packDirectory(join(root, 'empty')), (e: unknown) => isSlipwayError(e, 'empty_source'));
});
