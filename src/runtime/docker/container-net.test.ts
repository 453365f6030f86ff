import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { parseSubnet16, slotNet } from '../local/instance-net.js';
import { attachContainerNetwork } from './container-net.js';

const skip = process.getuid?.() !== 0 ? 'needs root (ip netns attach)' : false;

test('a container that ended while its network was being attached needs none, even while the engine still says it runs', { skip }, async () => {
  // The engine learns of an exit a moment after the kernel: `stillRunning` answers true here,
  // as a stale inspect did in CI. The pid is of a process that has ended and been reaped.
  const child = spawn('true', { stdio: 'ignore' });
  const pid = child.pid!;
  await once(child, 'exit');
  const subnet = parseSubnet16('10.251.0.0/16');
  const net = slotNet('cnetc', subnet, 7);
  const cfg = { label: 'cnetc', subnet, ip: 'ip', nft: 'nft' };
  let asked = 0;
  const attached = await attachContainerNetwork(cfg, net, { pid, stillRunning: async () => (asked++, true) });
  assert.equal(attached, false, 'an ended container gets no network, and the start goes on');
  assert.equal(existsSync(`/run/netns/${net.ns}`), false);
  assert.equal(existsSync(`/sys/class/net/${net.veth}`), false);
  assert.equal(asked, 0, 'the kernel already said it ended');
});
