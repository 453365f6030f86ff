// The build network on the real host (root only): what a crashed run leaves is removed by the
// next start, and stopping removes every namespace, veth, table, route and forwarding claim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { runCommand } from '../util/child-process.js';
import { parseBuildSubnet } from './build-net-rules.js';
import { createBuildSlotNetwork, destroyBuildNetwork, prepareBuildNetwork, type BuildNetworkConfig } from './build-network.js';
import { DEFAULT_CLAIM_DIR } from './forwarding-claim.js';

const isRoot = process.getuid?.() === 0;

async function hostState(cfg: BuildNetworkConfig) {
  const [netns, tables, routes] = await Promise.all([
    runCommand([cfg.ip, 'netns', 'list'], { timeoutMs: 10_000 }),
    runCommand([cfg.nft, 'list', 'tables'], { timeoutMs: 10_000 }),
    runCommand([cfg.ip, 'route', 'show', 'table', 'all'], { timeoutMs: 10_000 }),
  ]);
  return {
    namespaces: netns.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n?.startsWith(`${cfg.label}-`)),
    veths: [0, 1].map((i) => `${cfg.label}-b${i}`).filter((n) => existsSync(`/sys/class/net/${n}`)),
    table: tables.stdout.includes(`slipway_${cfg.label}_build`),
    blackhole: routes.stdout.includes(`blackhole ${cfg.subnet.cidr}`),
    claim: safeReaddir(DEFAULT_CLAIM_DIR).some((iface) => existsSync(join(DEFAULT_CLAIM_DIR, iface, 'users', cfg.label))),
  };
}

test('a start after a crash clears the crashed run\'s build network; stopping leaves nothing', { skip: isRoot ? false : 'needs root' }, async () => {
  const cfg: BuildNetworkConfig = {
    label: `u${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`,
    subnet: parseBuildSubnet(`10.${randomInt(200, 250)}.0.0/16`),
    instanceSubnet: '10.213.0.0/16', ip: '/usr/sbin/ip', nft: '/usr/sbin/nft',
  };
  try {
    await prepareBuildNetwork(cfg);
    await createBuildSlotNetwork(cfg, 0);
    await createBuildSlotNetwork(cfg, 1);
    const running = await hostState(cfg);
    assert.deepEqual(running.namespaces.sort(), [`${cfg.label}-b0`, `${cfg.label}-b1`], 'control: the slots exist');
    assert.equal(running.veths.length, 2);
    assert.ok(running.table && running.blackhole);
    // The crash: nothing is torn down. The next start must not find the old slots.
    await prepareBuildNetwork(cfg);
    const restarted = await hostState(cfg);
    assert.deepEqual(restarted.namespaces, []);
    assert.deepEqual(restarted.veths, []);
    assert.ok(restarted.table && restarted.blackhole, 'the new run has its table and route');
    await createBuildSlotNetwork(cfg, 0);
  } finally {
    await destroyBuildNetwork(cfg);
  }
  assert.deepEqual(await hostState(cfg), { namespaces: [], veths: [], table: false, blackhole: false, claim: false });
});

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
