import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../util/child-process.js';
import { createEngineApi } from '../runtime/docker/engine-api.js';
import { destroyHostNetwork } from '../runtime/local/net-namespace.js';
import { parseSubnet16 } from '../runtime/local/instance-net.js';
import type { RuntimeCapabilities } from '../runtime/runtime-driver.js';
import { claimHostValue } from '../../test/support/host-claims.js';
import { runtimeLeftovers } from '../../test/support/isolated-platform.js';
import { destroyRuntime } from './agent-startup.js';
import { loadConfig } from './config.js';
import { prepareInstanceNetwork, prepareRuntimeNetworks } from './up.js';

const failing = (isolatedNetwork: boolean) => ({
  capabilities: { isolatedNetwork } as RuntimeCapabilities,
  prepare: () => Promise.reject(new Error('nft: permission denied')),
});
const fine = { capabilities: { isolatedNetwork: true } as RuntimeCapabilities, prepare: () => Promise.resolve() };

test('with isolated networking, a failed instance-network prepare stops up before the edge starts', async () => {
  const printed: string[] = [];
  await assert.rejects(prepareInstanceNetwork({ local: failing(true), images: null }, (line) => printed.push(line)), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'isolation_unavailable');
    assert.match(err.message, /instance network \(its blackhole route\).*nft: permission denied/);
    return true;
  });
});

test('with plain processes, a failed prepare only warns', async () => {
  const printed: string[] = [];
  await prepareInstanceNetwork({ local: failing(false), images: null }, (line) => printed.push(line));
  assert.match(printed.join('\n'), /could not prepare the instance network before the edge: nft: permission denied/);
});

test('with the docker driver, a failed container-network prepare stops up before the edge starts, even with plain-process instances', async () => {
  await assert.rejects(prepareInstanceNetwork({ local: failing(false), images: failing(true) }, () => undefined), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'isolation_unavailable');
    assert.match(err.message, /container network \(SLIPWAY_CONTAINER_SUBNET\).*nft: permission denied/);
    return true;
  });
  await prepareInstanceNetwork({ local: fine, images: fine }, () => undefined);
});

async function blackholes(): Promise<string> {
  return (await runCommand(['ip', 'route', 'show', 'type', 'blackhole'])).stdout;
}

async function nftTables(): Promise<string> {
  return (await runCommand(['nft', 'list', 'tables'])).stdout;
}

// The real thing, as root: `up`'s preparation puts the container subnet's blackhole route and
// firewall table in place, not only the instance subnet's (an edge dials saved container
// addresses too).
test('up prepares the container subnet\'s blackhole route and firewall beside the instance subnet\'s', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  // Claimed as test platforms claim theirs (test/support/platform.ts), so one running beside
  // this test never shares a /16 with it.
  const claims = [claimHostValue('instance-subnet', 100, 200), claimHostValue('build-subnet', 200, 250), claimHostValue('container-subnet', 20, 50)];
  try {
    await prepareAndClean(claims.map((c) => c.value));
  } finally {
    for (const claim of claims) claim.release();
  }
});

/** Prepares `up`'s networks on the claimed octets, removes them, and checks nothing of the label is left. */
async function prepareAndClean([instanceNet, buildNet, containerNet]: number[]): Promise<void> {
  const container = `10.${containerNet}.0.0/16`;
  const home = await mkdtemp(join(tmpdir(), 'slipway-up-net-'));
  const label = `upn${process.pid % 10_000}`;
  const config = loadConfig({
    SLIPWAY_HOME: home, SLIPWAY_RUNTIME_DRIVER: 'docker', SLIPWAY_RUNTIME_LABEL: label,
    SLIPWAY_INSTANCE_SUBNET: `10.${instanceNet}.0.0/16`, SLIPWAY_CONTAINER_SUBNET: container, SLIPWAY_BUILD_SUBNET: `10.${buildNet}.0.0/16`,
  });
  // Never connected: preparing the network asks the engine nothing.
  const api = createEngineApi(join(home, 'no-engine.sock'));
  try {
    assert.ok(!(await blackholes()).includes(`blackhole ${container}`));
    await prepareRuntimeNetworks(config, api, () => undefined);
    assert.ok((await blackholes()).includes(`blackhole ${container}`), 'the container subnet is blackholed');
    assert.ok((await nftTables()).includes(`slipway_${label}c`), 'the container subnet\'s firewall table is in place');
  } finally {
    // The local driver's prepare made its network, cgroup folders and mount point: its
    // destroyAll takes them; the docker driver's needs an engine, so its network goes by hand.
    await destroyRuntime(config).catch(() => undefined);
    await destroyHostNetwork({ label: `${label}c`, subnet: parseSubnet16(container), ip: 'ip', nft: 'nft' }).catch(() => undefined);
    await api.close();
    await rm(home, { recursive: true, force: true });
  }
  assert.deepEqual([...await runtimeLeftovers(label), ...await runtimeLeftovers(`${label}c`)], []);
  assert.ok(!(await blackholes()).includes(`blackhole 10.${instanceNet}.0.0/16`));
  assert.ok(!(await blackholes()).includes(`blackhole ${container}`));
}
