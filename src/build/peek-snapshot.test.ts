import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { looksDynamic, peekSnapshot } from './peek-snapshot.js';
import { createSnapshot } from './snapshot.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('peek-test-');
});
after(async () => {
  await removeDir(work);
});

async function peek(files: Record<string, string>) {
  const sourceDir = join(work, `source-${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(sourceDir, path)), { recursive: true });
    await writeFile(join(sourceDir, path), content);
  }
  const outPath = join(work, `snapshot-${counter++}.tar`);
  await createSnapshot({ sourceDir, outPath });
  return peekSnapshot(outPath);
}

test('a plain site is static; only root markers count', async () => {
  const p = await peek({ 'index.html': 'x', 'sub/package.json': '{"scripts":{"start":"x"}}', 'sub/requirements.txt': '' });
  assert.deepEqual([...p.markers], []);
  assert.equal(looksDynamic(p), false);
});

test('a Node project is dynamic when it says how to start, static when it only builds', async () => {
  assert.equal(looksDynamic(await peek({ 'package.json': '{"scripts":{"start":"node a.js"}}' })), true);
  assert.equal(looksDynamic(await peek({ 'package.json': '{"main":"lib/index.js"}' })), true);
  assert.equal(looksDynamic(await peek({ 'package.json': '{}', 'server.js': '' })), true);
  const built = await peek({ 'package.json': '{"scripts":{"build":"vite build"}}', 'index.html': '' });
  assert.deepEqual(built.packageJson, { scripts: { build: 'vite build' } });
  assert.equal(looksDynamic(built), false);
  assert.equal(looksDynamic(await peek({ 'package.json': 'not json' })), false);
});

test('Python, Go, Elixir and Docker projects are dynamic', async () => {
  for (const marker of ['requirements.txt', 'pyproject.toml', 'go.mod', 'mix.exs', 'Dockerfile']) {
    const p = await peek({ [marker]: '' });
    assert.ok(p.markers.has(marker as never), marker);
    assert.equal(looksDynamic(p), true, marker);
  }
});
