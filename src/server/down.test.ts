import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimHostValue } from '../../test/support/host-claims.js';
import { buildTableName, parseBuildSubnet } from '../build/build-net-rules.js';
import { destroyBuildNetwork, prepareBuildNetwork } from '../build/build-network.js';
import { runCommand } from '../util/child-process.js';
import { processAlive } from '../util/process-alive.js';
import { waitFor } from '../util/wait-for.js';
import { homePaths, loadConfig } from './config.js';
import { runDown } from './down.js';

/** A live process that looks like `slipway <command>` for a home: its argv ends in the command. */
function fakeSlipwayProcess(command: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)', command], { env, stdio: 'ignore' });
}

test('slipway down refuses a lock whose live pid is not slipway up for this home, and signals nothing', async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-down-'));
  const config = loadConfig({ SLIPWAY_HOME: home });
  // Unrelated to this home: a process of another home's `up`, and one that is no `up` at all.
  const others = [
    fakeSlipwayProcess('up', { ...process.env, SLIPWAY_HOME: join(home, 'other') }),
    fakeSlipwayProcess('serve', { ...process.env, SLIPWAY_HOME: home }),
  ];
  try {
    for (const other of others) {
      const pid = await waitFor(() => other.pid);
      await writeFile(homePaths(home).upLock, `${pid}\n`);
      await assert.rejects(runDown(config, { stopApps: false }, () => undefined), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'state_locked');
        assert.match(err.message, new RegExp(`pid ${pid}, which is not slipway up`));
        return true;
      });
      assert.ok(processAlive(pid) && other.exitCode === null && other.signalCode === null, 'the unrelated process was not signalled');
    }
  } finally {
    for (const other of others) other.kill('SIGKILL');
    await waitFor(() => others.every((o) => !processAlive(o.pid!)), { description: 'the fake processes to exit' });
    await rm(home, { recursive: true, force: true });
  }
});

test('slipway down stops the slipway up of this home that the lock names', async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-down-'));
  const up = fakeSlipwayProcess('up', { ...process.env, SLIPWAY_HOME: home });
  try {
    const pid = await waitFor(() => up.pid);
    await writeFile(homePaths(home).upLock, `${pid}\n`);
    const lines: string[] = [];
    await runDown(loadConfig({ SLIPWAY_HOME: home }), { stopApps: false }, (line) => lines.push(line));
    assert.equal(await waitFor(() => up.signalCode), 'SIGTERM');
    assert.match(lines.join('\n'), /slipway up stopped/);
  } finally {
    up.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
  }
});

test('slipway down recognises `npm run up` (scripts/up.mjs) on the default home (no SLIPWAY_HOME)', async () => {
  const userHome = await mkdtemp(join(tmpdir(), 'slipway-down-user-'));
  const home = join(userHome, '.slipway');
  await mkdir(home);
  await writeFile(join(userHome, 'up.mjs'), 'setInterval(() => undefined, 1000);\n');
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: userHome };
  delete env.SLIPWAY_HOME;
  const up = spawn(process.execPath, [join(userHome, 'up.mjs')], { env, stdio: 'ignore' });
  try {
    const pid = await waitFor(() => up.pid);
    await writeFile(homePaths(home).upLock, `${pid}\n`);
    await runDown(loadConfig({ SLIPWAY_HOME: home }), { stopApps: false }, () => undefined);
    assert.equal(await waitFor(() => up.signalCode), 'SIGTERM');
  } finally {
    up.kill('SIGKILL');
    await rm(userHome, { recursive: true, force: true });
  }
});

// As root: a server that crashed left its build network (firewall table, blackhole route);
// `down --stop-apps` with no `up` running removes it with the rest.
test('slipway down --stop-apps after a crash removes the build network the server left', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-down-'));
  const claim = claimHostValue('build-subnet', 200, 250);
  const config = loadConfig({ SLIPWAY_HOME: home, SLIPWAY_RUNTIME_LABEL: `dn${process.pid % 100_000}`, SLIPWAY_BUILD_SUBNET: `10.${claim.value}.0.0/16` });
  const cfg = { label: config.runtimeLabel, subnet: parseBuildSubnet(config.buildSubnet), instanceSubnet: config.instanceSubnet, ip: 'ip', nft: 'nft' };
  const left = async () => ({
    table: (await runCommand(['nft', 'list', 'tables'])).stdout.includes(buildTableName(config.runtimeLabel)),
    route: (await runCommand(['ip', 'route', 'show', 'type', 'blackhole'])).stdout.includes(config.buildSubnet),
  });
  try {
    await prepareBuildNetwork(cfg);
    assert.deepEqual(await left(), { table: true, route: true });
    await runDown(config, { stopApps: true }, () => undefined);
    assert.deepEqual(await left(), { table: false, route: false });
  } finally {
    await destroyBuildNetwork(cfg).catch(() => undefined);
    claim.release();
    await rm(home, { recursive: true, force: true });
  }
});

test('slipway down waits for a lock\'s process that is on its way out (an up killed a moment ago) instead of refusing', async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-down-'));
  const config = loadConfig({ SLIPWAY_HOME: home });
  // What a killed `up` looks like for a moment: alive, but no longer `slipway up` (its command
  // line is gone while it exits). This one is no `up` at all and exits by itself shortly.
  const exiting = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 500)'], { stdio: 'ignore' });
  try {
    const pid = await waitFor(() => exiting.pid);
    await writeFile(homePaths(home).upLock, `${pid}\n`);
    const lines: string[] = [];
    await runDown(config, { stopApps: false }, (line) => lines.push(line));
    assert.match(lines.join('\n'), /slipway up is not running/);
  } finally {
    exiting.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
  }
});
