// What a user's own build command gets, through the real platform and the npm registry:
// `npm ci && npm run build` installs devDependencies (the build's NODE_ENV is
// production), files that must never be served are left out, and files no framework built
// revalidate, hashed-looking names included (the immutable cases are in the real-projects tests).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../src/util/wait-for.js';
import { repoRoot, startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
  await platform.client.createDeployment({ slug: 'devbin' });
  await platform.client.createDeployment({ slug: 'hashed' });
});
after(async () => platform?.stop());

/** The fixture's files as a file map, lockfile included. */
async function fixtureFiles(name: string): Promise<Record<string, string>> {
  const dir = join(repoRoot, 'test', 'fixtures', 'apps', name);
  const files: Record<string, string> = {};
  for (const file of await readdir(dir)) files[file] = await readFile(join(dir, file), 'utf8');
  return files;
}

test('a user\'s `npm ci && npm run build` installs the devDependency the build runs', async () => {
  const result = await platform.client.publish('devbin', { files: await fixtureFiles('static-devbin') }, {
    kind: 'static', buildCommand: 'npm ci && npm run build', outputPath: 'dist', wait: true,
  });
  const log = await platform.client.getBuildLog('devbin', result.version.version_number);
  assert.equal(result.version.state, 'ready', `${JSON.stringify(result.version.error)}\n${log}`);
  const version = await platform.edge('devbin.localhost', '/version.txt');
  assert.equal(version.status, 200);
  assert.equal(version.text.trim(), '1.2.3', 'semver, a devDependency, ran in the build');
  assert.doesNotMatch(log, /\x1b\[/, 'no terminal escapes in the stored log');
});

test('a build command that calls a missing tool fails with a hint naming it', async () => {
  const files = await fixtureFiles('static-devbin');
  const result = await platform.client.publish('devbin', { files }, {
    kind: 'static', buildCommand: 'npm ci && vite build', outputPath: 'dist', wait: true,
  });
  assert.equal(result.version.state, 'failed');
  assert.equal(result.version.error?.code, 'build_failed');
  assert.match(result.version.error?.message ?? '', /`vite` was not found: .*devDependencies/);
  assert.match(await platform.client.getBuildLog('devbin', result.version.version_number), /\[slipway\] hint: `vite` was not found/);
});

test('a site never serves its package.json, lockfile or .env; plain files revalidate, hashed-looking names too', async () => {
  const result = await platform.client.publish('hashed', {
    files: {
      'index.html': '<h1>hi</h1>', 'package.json': '{}', 'package-lock.json': '{}', '.env': 'TOKEN=x',
      'assets/index-Bx8a9FyQ.js': 'console.log(1)', 'assets/index-Bx8a9FyQ.js.map': '{}', 'assets/logo.png': 'png',
    },
  }, { kind: 'static', wait: true });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  for (const path of ['/package.json', '/package-lock.json', '/.env', '/assets/index-Bx8a9FyQ.js.map']) {
    assert.equal((await platform.edge('hashed.localhost', path)).status, 404, path);
  }
  // Nobody built these files: a name that looks hashed may still be a hand-made one that changes.
  assert.equal((await platform.edge('hashed.localhost', '/assets/index-Bx8a9FyQ.js')).status, 200);
  for (const path of ['/', '/assets/logo.png', '/assets/index-Bx8a9FyQ.js']) {
    assert.equal((await platform.edge('hashed.localhost', path)).headers['cache-control'], 'public, max-age=0, must-revalidate', path);
  }
  const log = await platform.client.getBuildLog('hashed', result.version.version_number);
  assert.match(log, /left out 4 files that are never served/);
});

test('static_include keeps left-out files on request, and a redeploy keeps the setting', async () => {
  await platform.client.createDeployment({ slug: 'maps' });
  const result = await platform.client.publish('maps', {
    files: { 'index.html': '<h1>hi</h1>', 'app.js': 'x', 'app.js.map': '{}', '.nojekyll': '', '.env': 'TOKEN=x' },
  }, { kind: 'static', staticInclude: ['*.map', '.nojekyll'], wait: true });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  assert.equal((await platform.edge('maps.localhost', '/app.js.map')).status, 200);
  assert.equal((await platform.edge('maps.localhost', '/.nojekyll')).status, 200);
  assert.equal((await platform.edge('maps.localhost', '/.env')).status, 404, 'what the globs do not name is still left out');
  const log = await platform.client.getBuildLog('maps', result.version.version_number);
  assert.match(log, /left out 1 file that is never served: \.env \(dotfile\)/);
  const again = await platform.client.redeploy('maps');
  const redeployed = await waitFor(async () => {
    const v = await platform.client.getVersion('maps', again.version.id);
    return v.state === 'ready' || v.state === 'failed' ? v : undefined;
  }, { description: 'the redeploy to finish' });
  assert.equal(redeployed.state, 'ready', JSON.stringify(redeployed.error));
  // A ready version reaches the edge through the route feed a moment later: wait for its page first.
  const host = `v${redeployed.version_number}--maps.localhost`;
  await waitFor(async () => (await platform.edge(host, '/')).status === 200 || undefined, { description: 'the edge to serve the redeployed version' });
  assert.equal((await platform.edge(host, '/app.js.map')).status, 200);
});
