// The core journey through real processes: publish a folder with the CLI, get a stable URL,
// publish again, preview the old version, roll back, read events; all through the edge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
let work: string;

before(async () => {
  platform = await startPlatform();
  work = await mkdtemp(join(tmpdir(), 'slipway-site-'));
});
after(async () => {
  await platform?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function site(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

test('publish, republish, preview, roll back: the edge always serves the active version', async () => {
  const host = 'hello.localhost';
  const v1 = await site('v1', { 'index.html': '<h1>one</h1>', 'css/app.css': 'body{color:red}', 'node_modules/x/index.js': 'excluded' });
  const first = await platform.cli(['publish', v1, '--deployment', 'hello', '--wait', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const published = JSON.parse(first.stdout);
  assert.equal(published.version.version_number, 1);
  assert.equal(published.version.state, 'ready');
  assert.equal(published.promoted, true);
  assert.match(published.version.artifact_sha256, /^[0-9a-f]{64}$/);
  assert.equal(published.deployment.public_url, `http://hello.localhost:${platform.httpPort}`);

  // "Ready" means served: the answer waits until the edge confirms the new route.
  assert.equal((await platform.edge(host)).text, '<h1>one</h1>');
  const css = await platform.edge(host, '/css/app.css');
  assert.equal(css.status, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
  assert.equal((await platform.edge(host, '/node_modules/x/index.js')).status, 404, 'excluded from the snapshot');

  const v2 = await site('v2', { 'index.html': '<h1>two</h1>' });
  const second = await platform.cli(['publish', v2, '--deployment', 'hello', '--wait', '--json']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(second.stdout).version.version_number, 2);
  assert.equal((await platform.edge(host)).text, '<h1>two</h1>');

  // Immutable preview of any ready version.
  assert.equal((await platform.edge('v1--hello.localhost')).text, '<h1>one</h1>');
  assert.equal((await platform.edge('v2--hello.localhost')).text, '<h1>two</h1>');
  assert.equal((await platform.edge('v9--hello.localhost')).status, 404);

  const rolled = await platform.cli(['rollback', 'hello', '--to', '1', '--json']);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.equal(JSON.parse(rolled.stdout).deployment.active_version_number, 1);
  assert.equal((await platform.edge(host)).text, '<h1>one</h1>', 'a rollback answers once the edge serves it');

  const status = await platform.cli(['deployments', 'status', 'hello', '--json']);
  assert.equal(JSON.parse(status.stdout).active_version_number, 1);
  const versions = await platform.client.listVersions('hello');
  assert.deepEqual(versions.data.map((v) => v.version_number), [2, 1]);

  const events = await platform.client.listEvents('hello', { limit: 50 });
  const types = events.data.map((e) => e.type).reverse();
  for (const t of ['deployment.created', 'version.queued', 'version.building', 'version.ready', 'deployment.promoted', 'deployment.rolled_back']) {
    assert.ok((types as string[]).includes(t), `event ${t} in ${types.join(', ')}`);
  }
  const log = await platform.client.getBuildLog('hello', 1);
  assert.match(log, /release [0-9a-f]{64}/);
});

test('an unknown host gets a neutral 404 and the same tree gives the same artifact', async () => {
  const unknown = await platform.edge('nope.localhost');
  assert.equal(unknown.status, 404);
  assert.doesNotMatch(unknown.text, /hello/);
  const files = { files: { 'index.html': 'same', 'a/b.txt': 'x' } };
  await platform.client.createDeployment({ slug: 'same-a' });
  await platform.client.createDeployment({ slug: 'same-b' });
  const a = await platform.client.publish('same-a', files, { wait: true });
  const b = await platform.client.publish('same-b', files, { wait: true });
  assert.equal(a.version.source_sha256, b.version.source_sha256);
  assert.equal(a.version.artifact_sha256, b.version.artifact_sha256);
});
