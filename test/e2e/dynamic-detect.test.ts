// Dynamic apps published as plain directories with no run command: detection picks the
// ecosystem, the install step and the start command, the app runs isolated and serves through
// the edge (websockets included); a Dockerfile-only source is refused without touching
// production; and a server crash does not drop a request nor restart the app.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PublishResult } from '../../src/sdk/index.js';
import { findExecutable } from '../../src/build/find-executable.js';
import { processTree } from '../../src/runtime/local/process-tree.js';
import { waitFor } from '../../src/util/wait-for.js';
import { runtimeLeftovers, startIsolatedPlatform } from '../support/isolated-platform.js';
import { repoRoot, type Platform } from '../support/platform.js';
import { openWebSocket } from '../support/ws-client.js';

let platform: Platform;
let label: string;
const scratch: string[] = [];

before(async () => {
  ({ platform, label } = await startIsolatedPlatform());
});
after(async () => {
  await platform?.stop();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  if (label) assert.deepEqual(await runtimeLeftovers(label), [], 'stopping the platform removes every netns, veth, nft table and cgroup');
});

const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'apps', name);

/** Quick health checks: a healthy app is seen at once, a broken one fails within seconds. */
const FAST = ['health_interval_ms=200', 'health_timeout_ms=1000', 'health_grace_period_ms=15000', 'drain_timeout_ms=2000']
  .flatMap((s) => ['--set', s]);

/** `slipway publish <dir> --wait --json` as a user runs it; the answer parsed from stdout. */
async function cliPublish(dir: string, slug: string, extra: string[] = []) {
  const run = await platform.cli(['publish', dir, '--deployment', slug, '--wait', '--json', ...FAST, ...extra]);
  let result: PublishResult;
  try {
    result = JSON.parse(run.stdout) as PublishResult;
  } catch {
    throw new Error(`publish printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { ...run, result };
}

/** Publishes a fixture that must become the ready, active, dynamic version. */
async function publishReady(name: string, slug: string, extra: string[] = []) {
  const { code, stderr, result } = await cliPublish(fixture(name), slug, extra);
  const log = await platform.client.getBuildLog(slug, result.version.version_number).catch(() => '');
  assert.equal(result.version.state, 'ready', `${name}: ${JSON.stringify(result.version.error)}\n${stderr}\n${log}`);
  assert.equal(code, 0, stderr);
  assert.equal(result.version.kind, 'dynamic');
  assert.equal(result.promoted, true);
  return { result, log };
}

async function getJson(slug: string, path = '/'): Promise<Record<string, unknown>> {
  const res = await platform.edge(`${slug}.localhost`, path);
  assert.equal(res.status, 200, `GET ${path} on ${slug}: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as Record<string, unknown>;
}

test('node-http: a plain start script (`node server.js`) runs directly on port 3000: the instance is the app alone, no npm or shell', async () => {
  const { log } = await publishReady('node-http', 'nhttp');
  assert.match(log, /detected node \(npm\)/);
  assert.ok(log.includes('run `PATH="$PWD/node_modules/.bin:$PATH" npm_package_name=node-http npm_package_version=1.0.0 exec node server.js` on port 3000'), log);
  const answer = await getJson('nhttp', '/some/path?q=1');
  assert.equal(answer.app, 'node-http');
  assert.equal(answer.path, '/some/path?q=1');
  assert.equal(answer.port, 3000);
  const [instance] = await platform.client.listInstances('nhttp');
  assert.match(instance?.address ?? '', /^10\.\d+\.\d+\.\d+:3000$/, 'an isolated instance has its own address, not a loopback port');
  // The sandbox's own bubblewrap processes aside, the tree is the app: npm start would leave
  // sh > npm > sh above it.
  const handle = JSON.parse(await readFile(join(platform.home, 'agent', 'instances', `${instance!.id}.json`), 'utf8')) as { data: { pid: number } };
  const names = processTree(handle.data.pid, null).map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
  assert.deepEqual(names.filter((n) => n !== 'bwrap'), ['node'], `the instance's processes: ${names.join(' > ')}`);
});

test('node-dep: npm ci installs the locked dependency at build time; the sandbox needs no network to use it', async () => {
  const { log } = await publishReady('node-dep', 'ndep');
  assert.match(log, /npm ci/);
  const res = await platform.edge('ndep.localhost', '/');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, 'node-dep 2m', 'ms(90000) from node_modules inside the release');
  assert.equal((await platform.edge('ndep.localhost', '/health')).text, 'ok');
});

test('python-http: requirements.txt + app.py is Python, started as `python3 app.py` on the default port 8000', async () => {
  const { log } = await publishReady('python-http', 'pyhttp');
  assert.match(log, /detected python/);
  assert.match(log, /run `python3 app\.py` on port 8000/);
  const answer = await getJson('pyhttp', '/hello');
  assert.deepEqual(answer, { app: 'python-http', path: '/hello', port: 8000 });
  const [instance] = await platform.client.listInstances('pyhttp');
  assert.match(instance?.address ?? '', /:8000$/);
});

for (const manager of ['pnpm', 'yarn'] as const) {
  test(`node-${manager}: ${manager}-lock installs with ${manager}, fetched from the registry when the host has none`, async () => {
    const slug = `n${manager}`;
    const { log } = await publishReady(`node-${manager}`, slug);
    assert.match(log, new RegExp(`detected node \\(${manager}\\)`));
    if (!(await findExecutable(manager))) assert.match(log, new RegExp(`the host has no ${manager}@\\d+: fetching it for this build`), 'the host has none: fetched');
    assert.match(log, new RegExp(`${manager} install --frozen-lockfile`));
    assert.equal((await platform.edge(`${slug}.localhost`, '/')).text, `node-${manager} 2m`, 'ms from node_modules inside the release');
  });
}

const hasGo = findExecutable('go');
const hasMix = findExecutable('mix');

test('go-http: go.mod is built with go build into one binary and run on the default port 8080', async (t) => {
  if (!(await hasGo)) return t.skip('no Go toolchain on this host (.ci/run installs golang-go)');
  const { log } = await publishReady('go-http', 'gohttp');
  assert.match(log, /detected go/);
  assert.match(log, /go build -trimpath -o \.slipway\/app \./);
  assert.deepEqual(await getJson('gohttp', '/hello?x=1'), { app: 'go-http', path: '/hello?x=1', port: '8080' });
  const [instance] = await platform.client.listInstances('gohttp');
  assert.match(instance?.address ?? '', /:8080$/);
});

test('elixir-http: mix.exs without dependencies builds a release offline and runs it on 4000', async (t) => {
  if (!(await hasMix)) return t.skip('no Elixir on this host (.ci/run installs elixir)');
  const { log } = await publishReady('elixir-http', 'exhttp');
  assert.match(log, /detected elixir/);
  assert.doesNotMatch(log, /local\.hex|deps\.get/, 'no Hex, no network: the project has no dependencies');
  assert.match(log, /mix release/);
  assert.deepEqual(await getJson('exhttp', '/hello'), { app: 'elixir-http', path: '/hello', port: 4000 });
});

test('ws-echo: a websocket through the edge\'s stable URL echoes messages both ways', async () => {
  await publishReady('ws-echo', 'wsecho');
  assert.equal((await platform.edge('wsecho.localhost', '/')).text, 'ws-echo', 'plain HTTP still answers');
  const ws = await openWebSocket(platform.httpPort, 'wsecho.localhost', { path: '/chat' });
  try {
    assert.equal(ws.handshake.headers.upgrade?.toLowerCase(), 'websocket');
    ws.send('hello through the edge');
    assert.equal(await ws.next(), 'hello through the edge');
    for (const text of ['one', 'two', 'three']) ws.send(text);
    assert.deepEqual([await ws.next(), await ws.next(), await ws.next()], ['one', 'two', 'three']);
    await ws.close();
  } finally {
    ws.destroy();
  }
});

test('a switch drains an open websocket: the old instance stays until it closes, or until the drain timeout', async () => {
  const liveOf = async (versionId: string) => (await platform.client.listInstances('wsecho')).filter((i) => i.version_id === versionId);
  const v1 = (await platform.client.getDeployment('wsecho')).active_version_id!;
  const ws = await openWebSocket(platform.httpPort, 'wsecho.localhost', { path: '/chat' });
  try {
    ws.send('before the switch');
    assert.equal(await ws.next(), 'before the switch');
    const { result } = await publishReady('ws-echo', 'wsecho', ['--set', 'drain_timeout_ms=30000']);
    assert.notEqual(result.version.id, v1);
    // The old instance is asked to stop, but drains while the socket is open: its agent says
    // `stopping` before the drain and `stopped` only after it.
    await waitFor(async () => {
      const old = await liveOf(v1);
      return old.length > 0 && old.every((i) => i.desired === 'stopped' && i.state === 'stopping');
    }, { timeoutMs: 20_000, description: 'the old instance draining' });
    ws.send('after the switch');
    assert.equal(await ws.next(), 'after the switch', 'the open socket still reaches the old version');
    const closedAt = Date.now();
    await ws.close();
    await waitFor(async () => (await liveOf(v1)).every((i) => i.state === 'stopped'), { timeoutMs: 20_000, description: 'the old instance stopped' });
    assert.ok(Date.now() - closedAt < 20_000, 'it stopped once the socket closed, not at the 30 s drain timeout');
  } finally {
    ws.destroy();
  }

  // A socket still open at the drain timeout is cut, and the instance stops anyway.
  const v2 = (await platform.client.getDeployment('wsecho')).active_version_id!;
  const stuck = await openWebSocket(platform.httpPort, 'wsecho.localhost', { path: '/chat' });
  try {
    stuck.send('ping');
    assert.equal(await stuck.next(), 'ping');
    const switchedAt = Date.now();
    await publishReady('ws-echo', 'wsecho', ['--set', 'drain_timeout_ms=2000']);
    await waitFor(async () => (await liveOf(v2)).every((i) => i.state === 'stopped'), { timeoutMs: 20_000, description: 'the old instance stopped at its drain timeout' });
    await waitFor(() => stuck.isClosed(), { timeoutMs: 5000, description: 'the edge closed the cut socket' });
    assert.ok(Date.now() - switchedAt >= 2000, 'not before the drain timeout');
  } finally {
    stuck.destroy();
  }
});

test('a Dockerfile-only source fails with dockerfile_requires_container_driver and production keeps serving', async () => {
  const before = await getJson('nhttp');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-dockerfile-'));
  scratch.push(dir);
  await writeFile(join(dir, 'Dockerfile'), 'FROM node:20-alpine\nCOPY . /app\nCMD ["node", "/app/server.js"]\n');
  const { code, stderr, result } = await cliPublish(dir, 'nhttp');
  assert.notEqual(code, 0, 'the CLI reports the failure with its exit code');
  assert.equal(result.version.state, 'failed');
  assert.equal(result.promoted, false);
  assert.equal(result.version.error?.code, 'dockerfile_requires_container_driver', JSON.stringify(result.version.error));
  assert.match(result.version.error?.message ?? '', /run_command|container driver/);
  assert.equal((JSON.parse(stderr) as { code: string }).code, 'dockerfile_requires_container_driver');
  const deployment = await platform.client.getDeployment('nhttp');
  assert.equal(deployment.active_version_number, 1, 'the active pointer did not move');
  assert.deepEqual(await getJson('nhttp'), before, 'the same process still answers');
  assert.ok((await platform.client.listInstances('nhttp')).every((i) => i.version_id !== result.version.id), 'no instance was started for it');
});

test('a server crash (SIGKILL) while the app serves: no request fails and the instance is not restarted', async () => {
  const [instance] = (await platform.client.listInstances('nhttp')).filter((i) => i.desired === 'running');
  assert.ok(instance && instance.state === 'healthy', JSON.stringify(instance));
  const handlePath = join(platform.home, 'agent', 'instances', `${instance.id}.json`);
  const pidBefore = (JSON.parse(await readFile(handlePath, 'utf8')) as { data: { pid: number } }).data.pid;
  let requests = 0;
  const failures: string[] = [];
  let stop = false;
  const load = (async () => {
    while (!stop) {
      requests++;
      const res = await platform.edge('nhttp.localhost', '/').catch((err: Error) => ({ status: 0, text: err.message }));
      if (res.status !== 200) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
    }
  })();
  try {
    await waitFor(() => requests > 20, { timeoutMs: 10_000, description: 'load running' });
    const serverPid = await platform.serverPid();
    process.kill(serverPid, 'SIGKILL');
    // `slipway up` restarts it after its backoff; the edge serves from its last routes meanwhile.
    await waitFor(async () => (await platform.serverPid()) !== serverPid && (await platform.client.healthz()).status === 'ok',
      { timeoutMs: 30_000, intervalMs: 100, description: 'the server restarted by up' });
    // The agent reports to the new server and routes are re-synced: keep loading a while after.
    const atRestart = requests;
    await waitFor(async () => {
      const now = (await platform.client.listInstances('nhttp')).find((i) => i.id === instance.id);
      return requests > atRestart + 50 && now?.state === 'healthy';
    }, { timeoutMs: 20_000, description: 'more requests after the restart' });
  } finally {
    stop = true;
    await load;
  }
  assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
  const after = (await platform.client.listInstances('nhttp')).filter((i) => i.desired === 'running');
  assert.equal(after.length, 1, JSON.stringify(after));
  assert.equal(after[0]!.id, instance.id, 'the same instance');
  assert.equal(after[0]!.restart_count, instance.restart_count, 'it was not restarted');
  assert.equal(after[0]!.state, 'healthy');
  assert.equal((JSON.parse(await readFile(handlePath, 'utf8')) as { data: { pid: number } }).data.pid, pidBefore, 'the same process');
});
