import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { list } from 'tar';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { dockerBuildContext } from './docker-context.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('docker-context-test-');
});
after(async () => {
  await removeDir(work);
});

/** The files of the context made from `files`, or `snapshot` when the snapshot is sent as it is. */
async function context(files: Record<string, string>): Promise<{ paths: string[] | 'snapshot'; ignored: number }> {
  const srcDir = join(work, `src-${counter++}`);
  for (const [path, body] of Object.entries(files)) {
    await mkdir(dirname(join(srcDir, path)), { recursive: true });
    await writeFile(join(srcDir, path), body);
  }
  const snapshotPath = join(work, 'snapshot.tar');
  const made = await dockerBuildContext({ srcDir, snapshotPath, dockerfilePath: 'Dockerfile', outPath: join(work, `context-${counter++}.tar`) });
  if (made.path === snapshotPath) return { paths: 'snapshot', ignored: made.ignored };
  const paths: string[] = [];
  await list({ file: made.path, onReadEntry: (e) => paths.push(e.path.replace(/\/$/, '')) });
  return { paths: paths.sort(), ignored: made.ignored };
}

test('without a .dockerignore the snapshot is the context as it is', async () => {
  assert.deepEqual(await context({ Dockerfile: 'FROM x', '.env': 'A=1' }), { paths: 'snapshot', ignored: 0 });
});

test(".dockerignore is applied as Docker applies it: folders, globs, exceptions, case; the Dockerfile always goes", async () => {
  const made = await context({
    Dockerfile: 'FROM x',
    '.dockerignore': '# secrets\n.env\nDockerfile\nlogs\n**/*.tmp\n*.md\n!README.md\ndocs\n!docs/keep.txt\n',
    '.env': 'A=1', 'ENV.local': 'kept: a different name on Linux',
    'logs/a.log': '', 'src/app.js': '', 'src/deep/x.tmp': '', 'x.tmp': '',
    'CHANGES.md': '', 'README.md': '', 'sub/NOTES.md': '',
    'docs/guide.txt': '', 'docs/keep.txt': '',
  });
  assert.deepEqual(made.paths, [
    '.dockerignore', 'Dockerfile', 'ENV.local', 'README.md', 'docs/keep.txt', 'src', 'src/app.js', 'src/deep', 'sub', 'sub/NOTES.md',
  ]);
  assert.equal(made.ignored, 8, 'the .env, logs (with its file), both .tmp, CHANGES.md, docs and docs/guide.txt');
});

test('with an owner every entry is the owner\'s, with or without a .dockerignore, gzipped so BuildKit still sees a tar', async () => {
  for (const files of [{ Dockerfile: 'FROM x', 'www/index.html': 'hi' }, { Dockerfile: 'FROM x', '.dockerignore': '.env', '.env': 'A=1', 'www/index.html': 'hi' }]) {
    const srcDir = join(work, `src-${counter++}`);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(dirname(join(srcDir, path)), { recursive: true });
      await writeFile(join(srcDir, path), body);
    }
    const made = await dockerBuildContext({
      srcDir, snapshotPath: join(work, 'snapshot.tar'), dockerfilePath: 'Dockerfile', outPath: join(work, `context-${counter++}.tar`), owner: { uid: 3000000, gid: 3000001 },
    });
    // BuildKit reads 1 KiB to tell a tar from a Dockerfile; the pax header of a large uid fills it.
    assert.equal((await readFile(made.path)).subarray(0, 2).toString('hex'), '1f8b');
    const owners: string[] = [];
    await list({ file: made.path, onReadEntry: (e) => owners.push(`${e.path.replace(/\/$/, '')} ${e.uid}:${e.gid}`) });
    const expected = Object.keys(files).filter((p) => p !== '.env').concat('www').sort().map((p) => `${p} 3000000:3000001`);
    assert.deepEqual(owners.sort(), expected);
  }
});
