// A Vite React app made by create-vite from the npm registry, published as a user does: with no
// flags it is detected, installed with its devDependencies and built, and the edge serves the
// built app (hashed assets cached for a year, HTML revalidated), never its source or its
// package.json; and a user's explicit `npm ci && npm run build` (an install again) builds it too.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/util/wait-for.js';
import { addLockfile, viteReactTs, type RealProject } from '../support/real-projects.js';
import { IMMUTABLE, REVALIDATED, assertReady, assetIn, edgeGet, header, publishProject, seconds, realProjectSuite } from '../support/real-projects-publish.js';

const suite = realProjectSuite('vite');
const { timings } = suite;
let project: RealProject;

before(async () => {
  project = await viteReactTs('rp-vite');
  suite.projects.push(project);
});

test('create-vite react-ts with no flags: detected as Vite, built with its devDependencies, the built app served', async () => {
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpvite' });
  timings.push(`no flags ${seconds(published.ms)}`);
  assertReady(published, 'static');
  assert.match(published.log, /detect: vite \(static\)/);
  assert.match(published.log, /npm install [^\n]*--include=dev/, 'no lockfile: npm install, with the devDependencies vite and typescript need');
  assert.doesNotMatch(published.log, /\x1b\[/, 'the build log has no raw ANSI escapes');

  const page = await edgeGet(suite.platform, 'rpvite', '/');
  assert.equal(page.status, 200, page.text);
  assert.match(header(page, 'content-type'), /^text\/html/);
  assert.match(page.text, /<title>rp-vite<\/title>/, 'the project\'s own index.html');
  assert.doesNotMatch(page.text, /\/src\/main\.tsx/, 'the built page, not the source one');
  assert.match(header(page, 'cache-control'), REVALIDATED, 'HTML is revalidated');

  const script = assetIn(page.text, '/assets/', '.js');
  assert.ok(script, `the page loads a hashed /assets/*.js:\n${page.text}`);
  const js = await edgeGet(suite.platform, 'rpvite', script);
  assert.equal(js.status, 200);
  assert.match(header(js, 'content-type'), /^text\/javascript/);
  assert.match(header(js, 'cache-control'), IMMUTABLE, `${script} is content-hashed: cached for a year`);
  assert.match(header(js, 'cache-control'), /immutable/);
  assert.match(js.text, /Explore Vite/, 'the compiled App.tsx');
  const css = assetIn(page.text, '/assets/', '.css');
  assert.ok(css, 'the page links its hashed stylesheet');
  const style = await edgeGet(suite.platform, 'rpvite', css);
  assert.match(header(style, 'content-type'), /^text\/css/);
  assert.match(header(style, 'cache-control'), IMMUTABLE);

  const icon = await edgeGet(suite.platform, 'rpvite', '/favicon.svg');
  assert.equal(icon.status, 200, 'public/ is copied into the build');
  assert.match(header(icon, 'content-type'), /^image\/svg\+xml/);
  assert.doesNotMatch(header(icon, 'cache-control'), /immutable/, 'an unhashed name is not pinned for a year');

  for (const path of ['/package.json', '/src/main.tsx', '/tsconfig.json', '/vite.config.ts', '/.gitignore']) {
    assert.equal((await edgeGet(suite.platform, 'rpvite', path)).status, 404, `${path} is not served`);
  }
});

test('the same app with SPA fallback on: a deep link serves index.html, a missing asset is still 404', async () => {
  await suite.platform.client.updateDeployment('rpvite', { spaFallback: true });
  // The edge learns the setting from the route feed, after the update has answered.
  const deep = await waitFor(async () => {
    const r = await edgeGet(suite.platform, 'rpvite', '/todos/42/edit');
    return r.status === 200 ? r : undefined;
  }, { timeoutMs: 10_000, description: 'the edge to serve the deep link with SPA fallback on' });
  assert.match(deep.text, /<title>rp-vite<\/title>/);
  assert.match(header(deep, 'cache-control'), REVALIDATED);
  assert.equal((await edgeGet(suite.platform, 'rpvite', '/assets/missing-AbCdEf12.js')).status, 404);
});

test('an explicit build command `npm ci && npm run build` builds the same app (devDependencies installed)', async () => {
  await addLockfile(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpvitecmd', extra: ['--build-command', 'npm ci && npm run build', '--output-path', 'dist'] });
  timings.push(`npm ci && npm run build ${seconds(published.ms)}`);
  assertReady(published, 'static');
  const page = await edgeGet(suite.platform, 'rpvitecmd', '/');
  assert.equal(page.status, 200);
  const script = assetIn(page.text, '/assets/', '.js');
  assert.ok(script, page.text);
  const js = await edgeGet(suite.platform, 'rpvitecmd', script);
  assert.match(header(js, 'cache-control'), IMMUTABLE);
  assert.equal((await edgeGet(suite.platform, 'rpvitecmd', '/package.json')).status, 404);
});

test('the same source with --as-is: the raw files are published (nothing built), still without package.json or lockfile', async () => {
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpviteraw', extra: ['--as-is'] });
  assertReady(published, 'static');
  assert.doesNotMatch(published.log, /npm (ci|install)/, 'nothing is installed or built');
  const page = await edgeGet(suite.platform, 'rpviteraw', '/');
  assert.equal(page.status, 200);
  assert.match(page.text, /<script type="module" src="\/src\/main\.tsx">/, 'the source index.html, as asked');
  assert.equal((await edgeGet(suite.platform, 'rpviteraw', '/src/main.tsx')).status, 200, 'the raw source, as asked');
  for (const path of ['/package.json', '/package-lock.json', '/.gitignore']) {
    assert.equal((await edgeGet(suite.platform, 'rpviteraw', path)).status, 404, `${path} stays out even as-is`);
  }
});
