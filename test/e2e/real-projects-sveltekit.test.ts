// SvelteKit apps made by `sv create` from the npm registry, published with no flags: with
// adapter-static a prerendered static site (nested page, hashed `_app/immutable` assets cached
// for a year, no package.json served), with adapter-node a server (`node build`) whose pages
// and server route answer through the edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { svelteKit } from '../support/real-projects.js';
import { IMMUTABLE, QUICK_HEALTH, REVALIDATED, assertReady, assetIn, edgeGet, header, publishProject, seconds, realProjectSuite } from '../support/real-projects-publish.js';

const suite = realProjectSuite('sveltekit');
const { projects, timings } = suite;

test('sv create with adapter-static, no flags: a prerendered static site with a nested page and immutable assets', async () => {
  const project = await svelteKit('static');
  projects.push(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpsvstatic' });
  timings.push(`adapter-static ${seconds(published.ms)}`);
  assertReady(published, 'static');
  assert.match(published.log, /detect: sveltekit \(static\)/);
  assert.match(published.log, /--include=dev/, 'everything sv create adds is a devDependency');

  const page = await edgeGet(suite.platform, 'rpsvstatic', '/');
  assert.equal(page.status, 200, page.text);
  assert.match(header(page, 'content-type'), /^text\/html/);
  assert.match(page.text, /Welcome to SvelteKit/, 'the prerendered +page.svelte');
  assert.match(header(page, 'cache-control'), REVALIDATED);

  const about = await edgeGet(suite.platform, 'rpsvstatic', '/about');
  assert.equal(about.status, 200, 'the nested route, prerendered to about.html');
  assert.match(about.text, /About this SvelteKit app/);

  const script = assetIn(page.text, '/_app/immutable/', '.js');
  assert.ok(script, `the page loads /_app/immutable/*.js:\n${page.text}`);
  const js = await edgeGet(suite.platform, 'rpsvstatic', script);
  assert.equal(js.status, 200);
  assert.match(header(js, 'content-type'), /^text\/javascript/);
  assert.match(header(js, 'cache-control'), IMMUTABLE);
  assert.match(header(js, 'cache-control'), /immutable/);

  for (const path of ['/package.json', '/svelte.config.js', '/vite.config.ts', '/.npmrc', '/src/routes/+page.svelte']) {
    assert.equal((await edgeGet(suite.platform, 'rpsvstatic', path)).status, 404, `${path} is not served`);
  }
});

test('sv create with adapter-node, no flags: `node build` serves pages and a server route through the edge', async () => {
  const project = await svelteKit('node');
  projects.push(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpsvnode', extra: QUICK_HEALTH });
  timings.push(`adapter-node ${seconds(published.ms)}`);
  assertReady(published, 'dynamic');
  assert.match(published.log, /detect: sveltekit \(dynamic\)/);
  assert.match(published.log, /run `node build` on port 3000/);

  const page = await edgeGet(suite.platform, 'rpsvnode', '/');
  assert.equal(page.status, 200, page.text);
  assert.match(page.text, /Welcome to SvelteKit/);
  const about = await edgeGet(suite.platform, 'rpsvnode', '/about');
  assert.equal(about.status, 200);
  assert.match(about.text, /About this SvelteKit app/);

  const echo = await edgeGet(suite.platform, 'rpsvnode', '/api/echo?q=svelte');
  assert.equal(echo.status, 200, echo.text);
  assert.equal((JSON.parse(echo.text) as { echo: string }).echo, 'svelte', 'the +server.ts route ran on the server');

  const script = assetIn(page.text, '/_app/immutable/', '.js');
  assert.ok(script, page.text);
  const js = await edgeGet(suite.platform, 'rpsvnode', script);
  assert.equal(js.status, 200);
  assert.match(header(js, 'content-type'), /javascript/);
  assert.match(header(js, 'cache-control'), IMMUTABLE, 'adapter-node serves _app/immutable for a year itself');
  assert.equal((await edgeGet(suite.platform, 'rpsvnode', '/package.json')).status, 404);
});
