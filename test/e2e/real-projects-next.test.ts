// A Next.js app made by create-next-app from the npm registry (App Router, TypeScript, plus a
// server route and a nested page), published with no flags: detected as Next.js, built as
// standalone output, and only that is packaged (a few hundred files, not the whole
// node_modules); pages, the server route and the hashed assets all answer through the edge.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nextApp, type RealProject } from '../support/real-projects.js';
import { IMMUTABLE, QUICK_HEALTH, assertReady, assetIn, edgeGet, header, publishProject, seconds, realProjectSuite } from '../support/real-projects-publish.js';

const suite = realProjectSuite('next');
const { timings } = suite;
let project: RealProject;

/**
 * The standalone output of a hello-world app is a few hundred files and tens of MB; the whole
 * tree with node_modules is ~18k files and ~370 MB (the measurement): far apart.
 */
const MAX_STANDALONE_FILES = 3000;
const MAX_STANDALONE_BYTES = 150 * 1024 * 1024;

before(async () => {
  project = await nextApp('rp-next');
  suite.projects.push(project);
});

test('create-next-app with no flags: detected as Next.js, built standalone, only the standalone folder packaged', async () => {
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpnext', extra: QUICK_HEALTH });
  timings.push(`no flags ${seconds(published.ms)}`);
  assertReady(published, 'dynamic');
  const { log } = published;
  assert.match(log, /detect: nextjs \(dynamic\)/);
  assert.match(log, /--include=dev/, 'the build installs devDependencies (typescript, tailwind)');
  assert.match(log, /NEXT_PRIVATE_STANDALONE=true/);
  assert.match(log, /run `HOSTNAME=0\.0\.0\.0 node server\.js` on port 3000/);
  assert.match(log, /packaging only \.next\/standalone/);
  const packaged = /packaged (\d+) files \((\d+) bytes unpacked/.exec(log);
  assert.ok(packaged, `the log says what was packaged:\n${log.slice(-3000)}`);
  const [files, bytes] = [Number(packaged[1]), Number(packaged[2])];
  timings.push(`release ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  assert.ok(files < MAX_STANDALONE_FILES, `${files} files packaged: the standalone output, not node_modules`);
  assert.ok(bytes < MAX_STANDALONE_BYTES, `${bytes} bytes packaged`);
  assert.doesNotMatch(log, /\x1b\[/, 'the build log has no raw ANSI escapes');
  const [instance] = await suite.platform.client.listInstances('rpnext');
  assert.match(instance?.address ?? '', /:3000$/, 'Next\'s default port');
});

test('the Next.js app through the edge: the page, a nested page, a server route and its hashed assets', async () => {
  const page = await edgeGet(suite.platform, 'rpnext', '/');
  assert.equal(page.status, 200, page.text.slice(0, 2000));
  assert.match(header(page, 'content-type'), /^text\/html/);
  assert.match(page.text, /To get started, edit the/, 'the template\'s page.tsx, rendered');

  const about = await edgeGet(suite.platform, 'rpnext', '/about');
  assert.equal(about.status, 200);
  assert.match(about.text, /About this Next\.js app/, 'a nested App Router page');

  const echo = await edgeGet(suite.platform, 'rpnext', '/api/echo?q=through-the-edge');
  assert.equal(echo.status, 200, echo.text);
  assert.match(header(echo, 'content-type'), /^application\/json/);
  assert.equal((JSON.parse(echo.text) as { echo: string }).echo, 'through-the-edge', 'the route handler ran on the server');

  const script = assetIn(page.text, '/_next/static/', '.js');
  assert.ok(script, `the page loads a hashed /_next/static/*.js:\n${page.text.slice(0, 2000)}`);
  const js = await edgeGet(suite.platform, 'rpnext', script);
  assert.equal(js.status, 200, `${script} is served from the standalone folder (.next/static copied beside the server)`);
  assert.match(header(js, 'content-type'), /^(text|application)\/javascript/);
  assert.match(header(js, 'cache-control'), IMMUTABLE);
  assert.match(header(js, 'cache-control'), /immutable/);

  const svg = await edgeGet(suite.platform, 'rpnext', '/next.svg');
  assert.equal(svg.status, 200, 'public/ is copied beside the server');
  assert.match(header(svg, 'content-type'), /^image\/svg\+xml/);

  for (const path of ['/package.json', '/next.config.ts', '/.next/BUILD_ID']) {
    assert.equal((await edgeGet(suite.platform, 'rpnext', path)).status, 404, `${path} is not served`);
  }
});
