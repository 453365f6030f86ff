// Dynamic apps through real processes: publish a Node server as a file map, watch it boot in
// the agent's sandbox, get promoted only once healthy, serve through the edge, and survive
// bad publishes, rollbacks to cold versions, scaling, kill -9 and an agent restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayApiError, type PublishSetting } from '../../src/sdk/index.js';
import { processTree } from '../../src/runtime/local/process-tree.js';
import { waitFor } from '../../src/util/wait-for.js';
import { findAgentPid, killTree } from '../support/processes.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
});
after(async () => {
  await platform?.stop();
});

/** A Node HTTP server that says which version and instance answered. */
const SERVER_JS = `
const http = require('node:http');
const v = process.env.SLIPWAY_VERSION_NUMBER;
http.createServer((req, res) => {
  if (req.url.startsWith('/say/')) console.error('said ' + req.url.slice(5));
  if (req.url === '/env') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({
      port: process.env.PORT, version: v, instance: process.env.SLIPWAY_RUNTIME_INSTANCE_ID,
      slug: process.env.SLIPWAY_SLUG, xff: req.headers['x-forwarded-for'], xfh: req.headers['x-forwarded-host'],
      secret: process.env.SLIPWAY_INTERNAL_TOKEN ?? null,
    }));
  }
  res.end('hello from v' + v + ' ' + process.env.SLIPWAY_RUNTIME_INSTANCE_ID);
}).listen(Number(process.env.PORT), () => console.log('listening on ' + process.env.PORT));
`;

/** Quick health settings so failing cases fail in about a second. */
const FAST: Partial<Record<PublishSetting, number>> = {
  health_grace_period_ms: 1500, health_interval_ms: 200, health_timeout_ms: 1000, health_unhealthy_threshold: 2, drain_timeout_ms: 2000,
};

async function publishApp(slug: string, app: { files: Record<string, string>; run: string; settings?: Partial<Record<PublishSetting, string | number>> }) {
  const { files, run: runCommand, settings = {} } = app;
  const { client } = platform;
  await client.createDeployment({ slug }).catch((err: unknown) => {
    if (!isSlipwayApiError(err) || err.code !== 'deployment_exists') throw err;
  });
  return client.publish(slug, { files }, { wait: true, runCommand, port: 3000, settings: { ...FAST, ...settings } });
}

/** Requests through the edge one after another until stopped; counts the failed ones. */
function startLoad(host: string) {
  let failures = 0;
  let requests = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      requests++;
      const res = await platform.edge(host).catch(() => null);
      if (!res || res.status !== 200) failures++;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { failures, requests };
    },
  };
}

async function body(slug: string, path = '/'): Promise<string> {
  const res = await platform.edge(`${slug}.localhost`, path);
  assert.equal(res.status, 200, `GET ${path} on ${slug}: ${res.status} ${res.text}`);
  return res.text;
}

test('a dynamic publish is promoted once healthy and served through the edge with its env', async () => {
  const result = await publishApp('dyn', { files: { 'server.js': SERVER_JS }, run: 'node server.js' });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  assert.equal(result.version.kind, 'dynamic');
  assert.equal(result.promoted, true);
  assert.equal(result.services.length, 1);
  assert.equal(result.services[0]!.type, 'web');
  assert.match(await body('dyn'), /^hello from v1 rti_/);
  const env = JSON.parse(await body('dyn', '/env'));
  assert.equal(env.version, '1');
  assert.equal(env.port, '3000');
  assert.equal(env.slug, 'dyn');
  assert.equal(env.xfh, 'dyn.localhost');
  assert.match(env.xff, /127\.0\.0\.1/);
  assert.equal(env.secret, null, 'no Slipway credentials leak into the app');
  const instances = await platform.client.listInstances('dyn');
  assert.equal(instances.filter((i) => i.state === 'healthy').length, 1);
  const log = await platform.client.getBuildLog('dyn', 1);
  assert.match(log, /healthy/);
});

test("instance output reaches the logs API, newest lines and followed live", async () => {
  const instance = (await platform.client.listInstances('dyn')).find((i) => i.state === 'healthy')!;
  const lines = await waitFor(async () => {
    const got = await platform.client.getLogs('dyn');
    return got.some((l) => l.line === 'listening on 3000') ? got : null;
  }, { timeoutMs: 10_000, description: 'the start line in the logs' });
  const start = lines.find((l) => l.line === 'listening on 3000')!;
  assert.equal(start.runtime_instance_id, instance.id);
  assert.equal(start.version_id, instance.version_id);
  assert.equal(start.service_id, instance.service_id);
  const stop = new AbortController();
  const seen: string[] = [];
  const follow = (async () => {
    for await (const l of platform.client.followLogs('dyn', { limit: 1, signal: stop.signal })) {
      seen.push(l.line);
      if (l.line === 'said hello-live') stop.abort();
    }
  })();
  await waitFor(async () => {
    await body('dyn', '/say/hello-live');
    return seen.includes('said hello-live');
  }, { timeoutMs: 10_000, intervalMs: 500, description: 'a followed line' });
  stop.abort();
  await follow;
  const cli = await platform.cli(['logs', 'dyn', '--limit', '5']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /said hello-live/);
});

test('blue/green: v2 replaces v1 without a failed request, and v1 drains and stops', async () => {
  const load = startLoad('dyn.localhost');
  const result = await publishApp('dyn', { files: { 'server.js': SERVER_JS }, run: 'node server.js' });
  assert.equal(result.version.version_number, 2);
  assert.equal(result.promoted, true);
  assert.match(await body('dyn'), /^hello from v2/);
  const { failures, requests } = await load.stop();
  assert.ok(requests > 10, `load ran (${requests} requests)`);
  assert.equal(failures, 0, `${failures} of ${requests} requests failed during the switch`);
  const v1Id = (await platform.client.getVersion('dyn', 1)).id;
  await waitFor(async () => {
    const v1 = (await platform.client.listInstances('dyn')).filter((i) => i.version_id === v1Id);
    return v1.length > 0 && v1.every((i) => i.state === 'stopped');
  }, { timeoutMs: 20_000, description: 'v1 instances stopped' });
});

for (const [name, files, command, code] of [
  ['exits at once', { 'server.js': 'process.exit(3)' }, 'node server.js', 'instance_exited'],
  ['never listens', { 'server.js': 'setInterval(() => {}, 1000)' }, 'node server.js', 'instance_not_listening'],
  ['listens on the wrong port', { 'server.js': "require('node:http').createServer((q, s) => s.end('x')).listen(3001)" }, 'node server.js', 'instance_wrong_port'],
  ['answers 500', { 'server.js': "require('node:http').createServer((q, s) => { s.statusCode = 500; s.end('no'); }).listen(Number(process.env.PORT))" }, 'node server.js', 'health_check_failed'],
] as const) {
  test(`a run command that ${name} fails the version (${code}) and production keeps serving`, async () => {
    const before = await body('dyn');
    const result = await publishApp('dyn', { files, run: command });
    assert.equal(result.version.state, 'failed');
    assert.equal(result.promoted, false);
    assert.equal(result.version.error?.code, code, result.version.error?.message);
    assert.equal(await body('dyn'), before, 'the active version never stopped serving');
    const dep = await platform.client.getDeployment('dyn');
    assert.equal(dep.state, 'active');
    assert.match(dep.state_reason ?? '', new RegExp(`^the newest version failed and is not serving: version ${result.version.version_number}: `));
    const failed = (await platform.client.listInstances('dyn')).filter((i) => i.version_id === result.version.id);
    assert.ok(failed.every((i) => i.state === 'failed' || i.state === 'stopped'), JSON.stringify(failed));
  });
}

test('an app on the wrong port fails its publish in seconds, not after the 60 s grace, naming the port and the fix', async () => {
  const t0 = Date.now();
  const result = await publishApp('dyn', {
    files: { 'server.js': "require('node:http').createServer((q, s) => s.end('x')).listen(8000)" }, run: 'node server.js',
    settings: { health_grace_period_ms: 60_000, health_interval_ms: 500 },
  });
  const took = Date.now() - t0;
  assert.equal(result.version.state, 'failed');
  assert.equal(result.version.error?.code, 'instance_wrong_port', result.version.error?.message);
  assert.match(result.version.error?.message ?? '', /the app listens on 8000, not on 3000 \(PORT\): read PORT, or publish with --port 8000/);
  assert.ok(took < 30_000, `the publish took ${took} ms: the grace was waited out`);
});

test('rollback to a version whose instances are gone boots it first, then switches', async () => {
  const rolled = await platform.client.rollback('dyn', { to: 1 });
  assert.equal(rolled.promoted, true);
  assert.match(await body('dyn'), /^hello from v1 /);
  const back = await platform.client.rollback('dyn', { to: 2 });
  assert.equal(back.promoted, true);
  assert.match(await body('dyn'), /^hello from v2 /);
});

test('scale to two replicas: the edge balances across both; back to one', async () => {
  const [web] = await platform.client.listServices('dyn');
  await platform.client.updateService(web!.id, { desired_replicas: 2 });
  await waitFor(async () => (await platform.client.listServices('dyn'))[0]!.healthy_instances === 2, { timeoutMs: 20_000, description: 'two healthy' });
  const seen = new Set<string>();
  await waitFor(async () => {
    seen.add((await body('dyn')).split(' ')[3]!);
    return seen.size === 2;
  }, { timeoutMs: 10_000, description: 'both instances answer' });
  // kill -9 of one of two replicas under load: the edge retries the other, nothing fails.
  const live = (await platform.client.listInstances('dyn')).filter((i) => i.desired === 'running' && i.state === 'healthy');
  const victim = JSON.parse(await readFile(join(platform.home, 'agent', 'instances', `${live[0]!.id}.json`), 'utf8')) as { data: { pid: number } };
  const load = startLoad('dyn.localhost');
  killTree(processTree(victim.data.pid, null));
  await waitFor(async () => {
    const now = (await platform.client.listInstances('dyn')).find((i) => i.id === live[0]!.id)!;
    return now.state === 'healthy' && now.restart_count === live[0]!.restart_count + 1;
  }, { timeoutMs: 15_000, description: 'the killed replica is back' });
  const { failures, requests } = await load.stop();
  assert.equal(failures, 0, `${failures} of ${requests} requests failed while a replica died`);
  const scaled = await platform.cli(['scale', 'dyn', '1']);
  assert.equal(scaled.code, 0, scaled.stderr);
  await waitFor(async () => (await platform.client.listInstances('dyn')).filter((i) => i.desired === 'running' && i.state === 'healthy').length === 1,
    { timeoutMs: 20_000, description: 'one left' });
});

async function liveInstance() {
  const live = (await platform.client.listInstances('dyn')).filter((i) => i.desired === 'running' && i.state === 'healthy');
  assert.equal(live.length, 1);
  const handle = JSON.parse(await readFile(join(platform.home, 'agent', 'instances', `${live[0]!.id}.json`), 'utf8')) as { data: { pid: number } };
  return { instance: live[0]!, pid: handle.data.pid };
}

test('kill -9 of a healthy instance: the agent restarts it at once, without backoff, and it serves again', async () => {
  const { instance, pid } = await liveInstance();
  killTree(processTree(pid, null));
  await waitFor(async () => {
    const now = (await platform.client.listInstances('dyn')).find((i) => i.id === instance.id)!;
    return now.restart_count === instance.restart_count + 1 && now.state === 'healthy';
  }, { timeoutMs: 15_000, description: 'restarted and healthy' });
  // Healthy in the store first; the edge gets the new address through the route feed a moment later.
  const served = await waitFor(async () => {
    const res = await platform.edge('dyn.localhost');
    return res.status === 200 ? res.text : undefined;
  }, { timeoutMs: 10_000, description: 'the edge to serve the restarted instance' });
  assert.match(served, /^hello from v2 /);
  const events = await platform.client.listEvents('dyn', { limit: 50 });
  const restarts = events.data.filter((e) => e.type === 'instance.starting' && e.data.runtime_instance_id === instance.id && /; restarting /.test(e.reason ?? ''));
  assert.ok(restarts.length > 0 && restarts.every((e) => /; restarting now$/.test(e.reason ?? '')), `the restart is an event, immediate after a healthy run: ${JSON.stringify(restarts.map((e) => e.reason))}`);
});

test('an agent restart re-adopts running instances instead of starting copies', async () => {
  const { instance, pid } = await liveInstance();
  // The agent logs each adoption; the new agent's line is the moment it chose adopt over copy.
  const adoption = `re-adopted a running instance {"id":"${instance.id}"`;
  const adoptions = async () => (await readFile(join(platform.home, 'logs', 'agent.log'), 'utf8').catch(() => '')).split(adoption).length - 1;
  const adoptedBefore = await adoptions();
  const agentPid = await findAgentPid(platform.home);
  process.kill(agentPid, 'SIGKILL');
  await waitFor(async () => (await findAgentPid(platform.home).catch(() => 0)) !== agentPid && (await findAgentPid(platform.home).catch(() => 0)) !== 0,
    { timeoutMs: 20_000, description: 'agent restarted by up' });
  // Served all along by the same process.
  assert.match(await body('dyn'), new RegExp(`^hello from v2 ${instance.id}`));
  await waitFor(async () => (await adoptions()) > adoptedBefore, { timeoutMs: 20_000, description: 'the new agent to re-adopt the instance' });
  const after = await liveInstance();
  assert.equal(after.instance.id, instance.id);
  assert.equal(after.pid, pid);
  assert.equal(after.instance.restart_count, instance.restart_count);
});

test('a crash loop spends its budget, then the instance is failed for good and the service degraded', async () => {
  // Healthy at once, then dies 1.5 s after each start: every restart crashes again.
  const crashing = "require('node:http').createServer((q, s) => s.end('up')).listen(Number(process.env.PORT)); setTimeout(() => process.exit(7), 1500);";
  const result = await publishApp('loop', { files: { 'server.js': crashing }, run: 'node server.js', settings: { crash_loop_budget: 2 } });
  assert.equal(result.promoted, true, JSON.stringify(result.version.error));
  const failed = await waitFor(async () => (await platform.client.listInstances('loop')).find((i) => i.state === 'failed'),
    { timeoutMs: 30_000, description: 'the instance failed' });
  assert.equal(failed.restart_count, 2);
  assert.match(failed.reason, /exited with code 7; gave up after 2 restarts in a row/);
  const [web] = await platform.client.listServices('loop');
  assert.equal(web!.state, 'degraded');
  // The deployment itself says why.
  const dep = await platform.client.getDeployment('loop');
  assert.equal(dep.state, 'degraded');
  assert.match(dep.state_reason ?? '', new RegExp(`0 of 1 instance\\(s\\) healthy: ${failed.id} failed: .*exited with code 7; gave up after 2 restarts`));
  // Not replaced behind the user's back: the loop would only start again. A window, not a wait:
  // no event marks a reconcile pass that decided to do nothing, and 6 s spans one of the
  // periodic passes (every 5 s) on top of the one the failure report kicked at once.
  await new Promise((r) => setTimeout(r, 6000));
  const live = (await platform.client.listInstances('loop')).filter((i) => i.state !== 'failed' && i.state !== 'stopped');
  assert.equal(live.length, 0, JSON.stringify(live));
  const events = await platform.client.listEvents('loop', { limit: 50 });
  assert.ok(events.data.some((e) => e.type === 'instance.failed'));
  // Scaling starts a fresh one.
  await platform.client.updateService(web!.id, { desired_replicas: 1 });
  await waitFor(async () => (await platform.client.listInstances('loop')).some((i) => i.id !== failed.id && i.state !== 'stopped'),
    { timeoutMs: 10_000, description: 'a fresh instance' });
  await platform.client.deleteDeployment('loop');
});

test('an instance stuck in starting past its grace is marked and restarted, then failed at its budget', async () => {
  // Serves until a moment 12 s from now, then exits; every later start hangs without listening.
  const until = Date.now() + 12_000;
  const app = `const until = ${until};
if (Date.now() < until) {
  require('node:http').createServer((q, s) => s.end('up')).listen(Number(process.env.PORT));
  setTimeout(() => process.exit(1), until - Date.now());
} else setInterval(() => {}, 1000);`;
  const result = await publishApp('stuck', { files: { 'server.js': app }, run: 'node server.js', settings: { crash_loop_budget: 2 } });
  assert.equal(result.promoted, true, JSON.stringify(result.version.error));
  assert.ok(Date.now() < until, 'the publish must finish while the app still serves');
  const failed = await waitFor(async () => (await platform.client.listInstances('stuck')).find((i) => i.state === 'failed'),
    { timeoutMs: 60_000, description: 'the stuck instance failed for good' });
  assert.match(failed.reason, /nothing listens on port 3000; gave up after 2 restarts in a row/);
  const events = (await platform.client.listEvents('stuck', { limit: 100 })).data.filter((e) => e.data.runtime_instance_id === failed.id);
  const reasons = events.map((e) => `${e.type}: ${e.reason}`);
  assert.ok(reasons.some((r) => /^instance\.starting: rti_\w+ \(replica 1 of 1[^)]*\): the app exited with code 1; restarting now/.test(r)), reasons.join('\n'));
  assert.ok(reasons.some((r) => /^instance\.starting: rti_\w+ \(replica 1 of 1[^)]*\): nothing listens on port 3000; restarting in 1 s/.test(r)), 'stuck past its grace: marked with why, and restarted with backoff');
  await platform.client.deleteDeployment('stuck');
});

test('deleting a dynamic deployment stops its instances', async () => {
  await publishApp('gone', { files: { 'server.js': SERVER_JS }, run: 'node server.js' });
  const ids = (await platform.client.listInstances('gone')).map((i) => i.id);
  assert.equal(ids.length, 1);
  await platform.client.deleteDeployment('gone');
  assert.equal((await platform.edge('gone.localhost')).status, 404);
  await waitFor(async () => {
    const left = await Promise.all(ids.map((id) => readFile(join(platform.home, 'agent', 'instances', `${id}.json`)).then(() => 1, () => 0)));
    return left.every((n) => n === 0);
  }, { timeoutMs: 20_000, description: 'instance handles removed' });
});
