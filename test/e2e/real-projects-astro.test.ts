// Astro's minimal template (written by hand: create-astro fetches templates from GitHub) with
// the pinned astro from the npm registry, published with no flags: a static site in `dist`
// (nested page, hashed `_astro` assets, no package.json served), and with @astrojs/node a
// standalone server on Astro's port 4321 whose pages and server route answer through the edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { astroSite } from '../support/real-projects.js';
import { QUICK_HEALTH, REVALIDATED, assertReady, edgeGet, header, publishProject, seconds, realProjectSuite } from '../support/real-projects-publish.js';

const suite = realProjectSuite('astro');
const { projects, timings } = suite;

test('Astro minimal, no flags: a static site in dist with its nested page; the source is not served', async () => {
  const project = await astroSite();
  projects.push(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpastro' });
  timings.push(`static ${seconds(published.ms)}`);
  assertReady(published, 'static');
  assert.match(published.log, /detect: astro \(static\)/);

  const page = await edgeGet(suite.platform, 'rpastro', '/');
  assert.equal(page.status, 200, page.text);
  assert.match(header(page, 'content-type'), /^text\/html/);
  assert.match(page.text, /<h1>Astro<\/h1>/);
  assert.match(header(page, 'cache-control'), REVALIDATED);
  const about = await edgeGet(suite.platform, 'rpastro', '/about');
  assert.equal(about.status, 200, 'the nested page, built to about/index.html');
  assert.match(about.text, /About this Astro site/);
  const icon = await edgeGet(suite.platform, 'rpastro', '/favicon.svg');
  assert.equal(icon.status, 200);
  assert.match(header(icon, 'content-type'), /^image\/svg\+xml/);

  for (const path of ['/package.json', '/astro.config.mjs', '/src/pages/index.astro', '/.gitignore']) {
    assert.equal((await edgeGet(suite.platform, 'rpastro', path)).status, 404, `${path} is not served`);
  }
});

test('Astro with @astrojs/node, no flags: the standalone server on 4321 serves pages and a server route', async () => {
  const project = await astroSite({ node: true });
  projects.push(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpastronode', extra: QUICK_HEALTH });
  timings.push(`@astrojs/node ${seconds(published.ms)}`);
  assertReady(published, 'dynamic');
  assert.match(published.log, /detect: astro \(dynamic\)/);
  assert.match(published.log, /on port 4321/);
  const [instance] = await suite.platform.client.listInstances('rpastronode');
  assert.match(instance?.address ?? '', /:4321$/, 'Astro\'s default port');

  const page = await edgeGet(suite.platform, 'rpastronode', '/');
  assert.equal(page.status, 200, page.text);
  assert.match(page.text, /<h1>Astro<\/h1>/);
  const about = await edgeGet(suite.platform, 'rpastronode', '/about');
  assert.equal(about.status, 200);
  assert.match(about.text, /About this Astro site/);
  const echo = await edgeGet(suite.platform, 'rpastronode', '/api/echo?q=astro');
  assert.equal(echo.status, 200, echo.text);
  assert.equal((JSON.parse(echo.text) as { echo: string }).echo, 'astro', 'the API route ran on the server');
  assert.equal((await edgeGet(suite.platform, 'rpastronode', '/package.json')).status, 404);
});
