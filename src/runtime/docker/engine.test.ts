import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../util/child-process.js';
import { processAlive } from '../../util/process-alive.js';
import { waitFor } from '../../util/wait-for.js';
import { dockerSkipReason, importBusyboxBase, startTestEngine } from '../../../test/support/docker-engine.js';
import { OWNER_LABEL, startDockerEngine } from './engine.js';
import { cgroupDirsFor, mountsUnder, pidsMentioning, removeEngineCgroups } from './engine-host.js';
import { removeDir } from '../../util/temp-dir.js';

const skip = dockerSkipReason() ?? false;

/** Everything about the host's network a dockerd could change. */
async function networkState(): Promise<Record<string, string>> {
  const run = async (argv: string[]): Promise<string> => (await runCommand(argv)).stdout;
  return {
    // Other tests (and other helpers) add and remove their own veths meanwhile: only
    // interfaces a dockerd would make (docker0, br-*, veth*) count.
    links: (await run(['ip', '-o', 'link', 'show']))
      .split('\n')
      .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
      .filter((name) => /^(docker|br-|veth)/.test(name))
      .join(','),
    ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'),
    ip6Forward: readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8'),
    dockerTables: (await run(['nft', 'list', 'tables'])).split('\n').filter((t) => /docker|nat|filter/.test(t)).join(','),
  };
}

test('a Slipway-owned dockerd changes nothing in the host network, and stop leaves nothing behind', { skip }, async (t) => {
  const before = await networkState();
  const started = Date.now();
  const test1 = await startTestEngine();
  t.diagnostic(`dockerd answered after ${Date.now() - started} ms`);
  const { engine, stateDir, cgroupParent } = test1;
  try {
    assert.equal(engine.started, true);
    const info = await engine.api.json<{ Driver: string; CgroupDriver: string }>({ method: 'GET', path: '/info' });
    t.diagnostic(`storage driver ${info.Driver}, cgroup driver ${info.CgroupDriver}`);
    assert.deepEqual(await networkState(), before, 'dockerd created an interface, a firewall table or turned forwarding on');
    const networks = await engine.api.json<{ Name: string }[]>({ method: 'GET', path: '/networks' });
    assert.deepEqual(networks.map((n) => n.Name).sort(), ['host', 'none'], 'no bridge network exists');

    // An agent restart finds the engine running and adopts it instead of starting another.
    const again = await startDockerEngine({ stateDir, cgroupParent });
    assert.equal(again.started, false);
    assert.equal(again.pid, engine.pid);
    await again.api.close();
  } finally {
    await test1.cleanup();
  }
  assert.equal(processAlive(engine.pid), false, 'dockerd still runs');
  assert.deepEqual(pidsMentioning(stateDir), [], 'containerd or a shim still runs');
  assert.deepEqual(mountsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), stateDir), [], 'a mount is left');
  const cgroups = cgroupDirsFor(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'), cgroupParent);
  assert.ok(cgroups.length > 0);
  assert.deepEqual(cgroups.filter((dir) => existsSync(dir)), [], 'a cgroup is left');
  assert.equal(existsSync(stateDir), false);
  assert.deepEqual(await networkState(), before);
});

test('a running engine is never replaced: without its pid file it is still adopted, and a stalled one is waited for, then reported', { skip }, async () => {
  const test1 = await startTestEngine();
  const { engine, stateDir, cgroupParent } = test1;
  let stopped = false;
  try {
    await importBusyboxBase(engine, 'slipway-test/busybox:1');
    const { Id } = await engine.api.json<{ Id: string }>({
      method: 'POST', path: '/containers/create',
      json: { Image: 'slipway-test/busybox:1', Cmd: ['sleep', '1000'], Labels: { [OWNER_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' } },
    });
    await engine.api.json({ method: 'POST', path: `/containers/${Id}/start` });
    const running = async (): Promise<boolean> =>
      (await engine.api.json<{ State: { Running: boolean } }>({ method: 'GET', path: `/containers/${Id}/json` })).State.Running;

    // The pid file gone (removed by hand, a crash while it was rewritten): the dockerd is found by its arguments.
    await rm(engine.layout.pidFile);
    const again = await startDockerEngine({ stateDir, cgroupParent });
    await again.api.close();
    assert.equal(again.started, false);
    assert.equal(again.pid, engine.pid);

    // A dockerd too busy to answer (stopped here) is waited for and then reported, never replaced.
    process.kill(engine.pid, 'SIGSTOP');
    stopped = true;
    // Stopped once every thread took the signal (state T), not merely once it was sent.
    const stateOf = (pid: number): string => /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? '?';
    await waitFor(() => stateOf(engine.pid) === 'T', { timeoutMs: 5_000, description: 'dockerd to be stopped' });
    const outcome = await startDockerEngine({ stateDir, cgroupParent, startTimeoutMs: 1_500 }).then(
      async (e) => {
        await e.api.close();
        return `resolved: started ${e.started}, pid ${e.pid} (the stalled one is ${engine.pid})`;
      },
      (err: Error & { code?: string }) => `${err.code}: ${err.message}`,
    );
    assert.match(outcome, /^unavailable: .*did not answer/);
    process.kill(engine.pid, 'SIGCONT');
    stopped = false;
    assert.equal(processAlive(engine.pid), true, 'the running dockerd was killed');
    assert.equal(await running(), true, 'its container was stopped');
  } finally {
    if (stopped) process.kill(engine.pid, 'SIGCONT');
    await test1.cleanup();
  }
});

test('a dockerd that cannot start is reported with its log, and nothing is left running', { skip }, async () => {
  const stateDir = '/tmp/swd-missing-binary';
  await assert.rejects(
    startDockerEngine({ stateDir, dockerdPath: '/nonexistent/dockerd', startTimeoutMs: 5_000 }),
    (err: Error & { code?: string }) => err.code === 'unavailable' && /dockerd is not installed/.test(err.message),
  );
  await runCommand(['rm', '-rf', stateDir]);
});

/** What an engine on `stateDir` with `cgroupParent` left on the host. */
function leftOnHost(stateDir: string, cgroupParent: string): string[] {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  return [
    ...pidsMentioning(stateDir).map((pid) => `process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`),
    ...mountsUnder(mountinfo, stateDir).map((point) => `mount ${point}`),
    ...cgroupDirsFor(readFileSync('/proc/self/cgroup', 'utf8'), mountinfo, cgroupParent).filter((dir) => existsSync(dir)),
  ];
}

const rootSkip = process.getuid?.() === 0 ? false : 'needs root (mounts and cgroups)';

test('a dockerd that does not answer in time is killed, and what it started is cleaned up as by a stop', { skip: rootSkip }, async () => {
  const stateDir = await mkdtemp('/tmp/swd-');
  const cgroupParent = `slipway-docker-test-${stateDir.slice('/tmp/swd-'.length)}`;
  const cgroups = cgroupDirsFor(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'), cgroupParent);
  const cgroup = cgroups[0] as string;
  // A dockerd that gets as far as a real one does before its API answers, and then hangs: its
  // data-root mounted, a containerd naming the exec-root, and a container process (one that
  // names nothing of the engine) in a cgroup under the parent, which keeps that cgroup busy.
  const fake = join(stateDir, 'fake-dockerd');
  await writeFile(fake, `#!/bin/bash
for a in "$@"; do case "$a" in --exec-root=*) exec_root="\${a#*=}";; --data-root=*) data_root="\${a#*=}";; esac; done
mount -t tmpfs swd-test "$data_root"
mkdir -p ${cgroup}/c1
sleep 300 &
echo $! > ${cgroup}/c1/cgroup.procs
(exec -a "containerd --root $exec_root/containerd" sleep 300) &
touch ${stateDir}/set-up
exec sleep 300
`);
  await chmod(fake, 0o755);
  try {
    await assert.rejects(
      startDockerEngine({ stateDir, cgroupParent, dockerdPath: fake, startTimeoutMs: 3_000 }),
      (err: Error & { code?: string }) => err.code === 'unavailable' && /did not start/.test(err.message),
    );
    assert.ok(existsSync(join(stateDir, 'set-up')), 'the fake dockerd was killed before it had set up (a loaded machine?)');
    assert.deepEqual(leftOnHost(stateDir, cgroupParent), [], 'a failed start must leave nothing running, mounted or in a cgroup');
  } finally {
    for (const pid of pidsMentioning(stateDir)) process.kill(pid, 'SIGKILL');
    for (const point of mountsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), stateDir)) await runCommand(['umount', '-l', point]).catch(() => {});
    await removeEngineCgroups(cgroupParent);
    await removeDir(stateDir);
  }
});
