// A websocket handshake wakes a sleeping version the way a page load does, through a real
// platform: the handshake to an old version (or to a service scaled to zero) waits while one
// instance boots, then tunnels to it, and messages echo both ways.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/edge/logger.js';
import { readRouteState } from '../../src/edge/route-state.js';
import type { PublishSetting } from '../../src/sdk/index.js';
import { waitFor } from '../../src/util/wait-for.js';
import { repoRoot, startPlatform, type Platform } from '../support/platform.js';
import { openWebSocket } from '../support/ws-client.js';

let platform: Platform;
let serverJs = '';

before(async () => {
  platform = await startPlatform();
  serverJs = await readFile(join(repoRoot, 'test', 'fixtures', 'apps', 'ws-echo', 'server.js'), 'utf8');
  await platform.client.createDeployment({ slug: SLUG });
});
after(async () => {
  await platform?.stop();
});

const SLUG = 'wsw';
const FAST: Partial<Record<PublishSetting, number>> = {
  health_grace_period_ms: 5000, health_interval_ms: 200, health_timeout_ms: 1000, health_unhealthy_threshold: 2, drain_timeout_ms: 1000,
};

async function publish(): Promise<string> {
  const result = await platform.client.publish(SLUG, { files: { 'server.js': serverJs } }, { wait: true, runCommand: 'node server.js', port: 3000, settings: FAST });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  return result.version.id;
}

async function instancesOf(versionId: string) {
  return (await platform.client.listInstances(SLUG)).filter((i) => i.version_id === versionId);
}

/** Waits until the version has instances and none of them runs any more. */
async function allStopped(versionId: string, description: string): Promise<void> {
  await waitFor(async () => {
    const rows = await instancesOf(versionId);
    return rows.length > 0 && rows.every((i) => i.state === 'stopped');
  }, { timeoutMs: 60_000, intervalMs: 200, description });
}

/**
 * Waits until the edge routes version `n` to no instance. Read from the routes it saves, not
 * asked of the edge: any request to the version would wake it.
 */
async function edgeHasNoInstanceOf(n: number): Promise<void> {
  await waitFor(async () => {
    const state = await readRouteState(join(platform.home, 'edge'), silentLogger);
    const release = state?.routes.find((r) => r.slug === SLUG)?.versions.find((v) => v.version_number === n);
    return release !== undefined && (release.upstreams ?? []).length === 0;
  }, { timeoutMs: 30_000, intervalMs: 100, description: `the edge routes v${n} to no instance` });
}

/** Opens a websocket to `host` (its handshake waits for the boot), checks an echo, closes it. */
async function echoThrough(host: string): Promise<void> {
  const ws = await openWebSocket(platform.httpPort, host, { path: '/chat', timeoutMs: 60_000 });
  try {
    ws.send(`hello ${host}`);
    assert.equal(await ws.next(), `hello ${host}`);
    await ws.close();
  } finally {
    ws.destroy();
  }
}

test('a websocket to an old version with no instance boots it and tunnels to it; the live version is untouched', async () => {
  const v1 = await publish();
  const v2 = await publish();
  await allStopped(v1, 'v1 retired after v2 went live');
  await edgeHasNoInstanceOf(1);
  const before = (await instancesOf(v1)).length;

  await echoThrough(`v1--${SLUG}.localhost`);

  const woken = (await instancesOf(v1)).filter((i) => i.desired === 'running');
  assert.equal(woken.length, 1, 'one instance of v1 woken');
  assert.equal((await instancesOf(v1)).length, before + 1);
  assert.equal((await platform.client.getDeployment(SLUG)).active_version_id, v2, 'the live version did not change');
});

test('scaled to zero, a websocket to the live host wakes it', async () => {
  const v2 = (await platform.client.getDeployment(SLUG)).active_version_id!;
  const [web] = await platform.client.listServices(SLUG);
  await platform.client.updateService(web!.id, { desired_replicas: 0 });
  await allStopped(v2, 'v2 scaled to zero');
  await edgeHasNoInstanceOf(2);

  await echoThrough(`${SLUG}.localhost`);

  assert.equal((await instancesOf(v2)).filter((i) => i.desired === 'running').length, 1, 'one instance woken');
  assert.equal((await platform.client.listServices(SLUG))[0]!.desired_replicas, 0, 'woken on demand, not scaled up');
});
