// Every version stays reachable: a request to an old dynamic version (or to a service scaled to
// zero) boots it on demand through a real platform, answers "starting" meanwhile, serves the
// version's own response once healthy, and stops it again after the idle time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PublishSetting } from '../../src/sdk/index.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type Platform } from '../support/platform.js';

/**
 * The smallest idle time the server takes: five of the edge's usage reports (every 2 s), so a
 * report delayed on a loaded machine does not stop a version that serves.
 */
const IDLE_MS = 10_000;
let platform: Platform;

before(async () => {
  platform = await startPlatform({ env: { SLIPWAY_WAKE_IDLE_MS: String(IDLE_MS) } });
});
after(async () => {
  await platform?.stop();
});

const SERVER_JS = `
const http = require('node:http');
http.createServer((req, res) => res.end('hello from v' + process.env.SLIPWAY_VERSION_NUMBER + ' ' + process.env.SLIPWAY_RUNTIME_INSTANCE_ID))
  .listen(Number(process.env.PORT));
`;
const FAST: Partial<Record<PublishSetting, number>> = {
  health_grace_period_ms: 5000, health_interval_ms: 200, health_timeout_ms: 1000, health_unhealthy_threshold: 2, drain_timeout_ms: 1000,
};
const SLUG = 'wk';

async function publish(): Promise<string> {
  const result = await platform.client.publish(SLUG, { files: { 'server.js': SERVER_JS } }, { wait: true, runCommand: 'node server.js', port: 3000, settings: FAST });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  return result.version.id;
}

async function instancesOf(versionId: string) {
  return (await platform.client.listInstances(SLUG)).filter((i) => i.version_id === versionId);
}

/** Waits until none of the version's instances runs any more. */
async function allStopped(versionId: string, description: string): Promise<void> {
  await waitFor(async () => {
    const rows = await instancesOf(versionId);
    return rows.length > 0 && rows.every((i) => i.state === 'stopped');
  }, { timeoutMs: 60_000, intervalMs: 200, description });
}

/** Requests `host` until it answers 200, checking every answer before that is a "starting" one. */
async function untilServed(host: string): Promise<string> {
  return waitFor(async () => {
    const res = await platform.edge(host);
    if (res.status === 200) return res.text;
    assert.equal(res.status, 503, `while starting: ${res.status} ${res.text}`);
    assert.ok(Number(res.headers['retry-after']) >= 1, 'a Retry-After while starting');
    return null;
  }, { timeoutMs: 60_000, intervalMs: 100, description: `${host} served` });
}

/** Requests the live host every 50 ms until stopped; collects what did not say v2. */
function watchLive() {
  const bad: string[] = [];
  let stopped = false;
  let wakeUp = () => undefined as void;
  const loop = (async () => {
    while (!stopped) {
      const res = await platform.edge(`${SLUG}.localhost`).catch((err: Error) => ({ status: 0, text: err.message }));
      if (res.status !== 200 || !res.text.startsWith('hello from v2 ')) bad.push(`${res.status} ${res.text}`);
      // A pause between requests, so the watcher does not starve the boot it watches on 2 cores.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return async () => {
    stopped = true;
    wakeUp();
    await loop;
    return bad;
  };
}

let v1 = '';
let v2 = '';

test('a request to an old version boots it once, answers "starting" meanwhile, then serves it; the live host keeps serving v2', async () => {
  await platform.client.createDeployment({ slug: SLUG });
  v1 = await publish();
  v2 = await publish();
  await allStopped(v1, 'v1 retired after v2 went live');
  const before = (await instancesOf(v1)).length;
  const stopWatching = watchLive();

  // A burst of requests, browsers and API clients mixed: each gets a starting answer, and the
  // control plane boots the version once.
  const burst = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    platform.edge(`v1--${SLUG}.localhost`, '/', i % 2 === 0 ? { accept: 'text/html,application/xhtml+xml' } : { accept: 'application/json' })));
  for (const [i, res] of burst.entries()) {
    assert.equal(res.status, 503, res.text);
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.equal(res.headers['cache-control'], 'no-store');
    if (i % 2 === 0) {
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.text, /<meta http-equiv="refresh" content="\d+">/);
      assert.doesNotMatch(res.text, /slipway/i, 'white-label: the page names no platform');
    } else {
      assert.match(String(res.headers['content-type']), /^text\/plain/);
    }
  }

  assert.match(await untilServed(`v1--${SLUG}.localhost`), /^hello from v1 rti_/);
  const woken = (await instancesOf(v1)).filter((i) => i.desired === 'running');
  assert.equal(woken.length, 1, 'one boot for the whole burst, of one instance');
  assert.equal((await instancesOf(v1)).length, before + 1);
  const dep = await platform.client.getDeployment(SLUG);
  assert.equal(dep.active_version_id, v2, 'the live version did not change');
  assert.deepEqual(await stopWatching(), [], 'the live host served v2 throughout');
});

test('a woken version stops once idle, and the next request wakes it again', async () => {
  await allStopped(v1, 'the woken v1 stopped after the idle time');
  const live = (await instancesOf(v2)).filter((i) => i.desired === 'running' && i.state === 'healthy');
  assert.equal(live.length, 1, 'the live version is not idle-stopped');
  const events = await platform.client.listEvents(SLUG);
  assert.ok(events.data.some((e) => e.type === 'version.idle_stopped' && e.version_id === v1), 'the idle stop is an event');
  assert.match(await untilServed(`v1--${SLUG}.localhost`), /^hello from v1 /);
});

test('scaled to zero, the live version stops; a request wakes it, and idle stops it again', async () => {
  const [web] = await platform.client.listServices(SLUG);
  await platform.client.updateService(web!.id, { desired_replicas: 0 });
  await allStopped(v2, 'v2 scaled to zero');
  const first = await platform.edge(`${SLUG}.localhost`, '/', { accept: 'text/html' });
  assert.equal(first.status, 503, first.text);
  assert.match(first.text, /http-equiv="refresh"/);
  assert.match(await untilServed(`${SLUG}.localhost`), /^hello from v2 /);
  // Not a replica: the reconciler leaves it alone, and it stops only once idle.
  assert.equal((await platform.client.listServices(SLUG))[0]!.desired_replicas, 0);
  await allStopped(v2, 'the woken v2 stopped after the idle time');
  // The edge drops the stopped instance from its route a moment after the store says stopped.
  await waitFor(async () => (await platform.edge(`${SLUG}.localhost`, '/', { accept: 'application/json' })).status === 503, {
    timeoutMs: 30_000, intervalMs: 200, description: 'the live host answers "starting" again once its route has no instance',
  });
});

test('scaled up from zero, the woken instance becomes the replica instead of serving beside a new one', async () => {
  assert.match(await untilServed(`${SLUG}.localhost`), /^hello from v2 /);
  const [woken] = (await instancesOf(v2)).filter((i) => i.desired === 'running');
  const [web] = await platform.client.listServices(SLUG);
  await platform.client.updateService(web!.id, { desired_replicas: 1 });
  const running = (await instancesOf(v2)).filter((i) => i.desired === 'running');
  assert.deepEqual(running.map((i) => i.id), [woken!.id]);
});
