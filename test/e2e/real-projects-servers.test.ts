// Plain servers as users write them, published with no flags: an Express app (`"start": "node
// server.js"`, express from the npm registry, its lockfile) runs its start script directly (no
// npm left resident) on 3000 with NODE_ENV=production, and a standard-library Python server
// with no requirements.txt runs with python3 on Python's port 8000; neither leaks its source
// through the edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expressApp, pythonStdlibServer } from '../support/real-projects.js';
import { QUICK_HEALTH, assertReady, edgeGet, publishProject, seconds, realProjectSuite } from '../support/real-projects-publish.js';

const suite = realProjectSuite('servers');
const { projects, timings } = suite;

test('an Express app with a start script, no flags: the script run directly on 3000 with NODE_ENV=production', async () => {
  const project = await expressApp();
  projects.push(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rpexpress', extra: QUICK_HEALTH });
  timings.push(`express ${seconds(published.ms)}`);
  assertReady(published, 'dynamic');
  assert.match(published.log, /detect: node (\(npm\) )?\(dynamic\)/);
  assert.match(published.log, /npm ci/, 'the lockfile is installed as locked');
  assert.ok(published.log.includes('run `PATH="$PWD/node_modules/.bin:$PATH" npm_package_name=rp-express npm_package_version=1.0.0 exec node server.js` on port 3000'), published.log);

  const page = await edgeGet(suite.platform, 'rpexpress', '/');
  assert.equal(page.status, 200, page.text);
  assert.match(page.text, /Hello from Express/);
  const echo = await edgeGet(suite.platform, 'rpexpress', '/api/echo?q=express');
  assert.deepEqual(JSON.parse(echo.text), { echo: 'express', port: 3000, env: 'production' });
  assert.equal((await edgeGet(suite.platform, 'rpexpress', '/server.js')).status, 404, 'Express serves only its routes');
});

test('a standard-library Python server with no requirements.txt, no flags: `python3 server.py` on 8000', async () => {
  const project = await pythonStdlibServer();
  projects.push(project);
  const published = await publishProject(suite.platform, { dir: project.dir, slug: 'rppython', extra: QUICK_HEALTH });
  timings.push(`python stdlib ${seconds(published.ms)}`);
  assertReady(published, 'dynamic');
  assert.match(published.log, /detect: python \(dynamic\)/);
  assert.match(published.log, /run `python3 server\.py` on port 8000/);
  const answer = await edgeGet(suite.platform, 'rppython', '/hello?x=1');
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(JSON.parse(answer.text), { app: 'stdlib', path: '/hello?x=1', port: 8000 }, 'PORT is 8000, Python\'s convention');
  const [instance] = await suite.platform.client.listInstances('rppython');
  assert.match(instance?.address ?? '', /:8000$/);
});
