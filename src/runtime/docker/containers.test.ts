import { test } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { DEFAULT_RESOURCES } from '../../core/runtime.js';
import { isSlipwayError } from '../../core/errors.js';
import { waitFor } from '../../util/wait-for.js';
import { dockerSkipReason, useBusyboxEngine } from '../../../test/support/docker-engine.js';
import type { StartInstanceSpec } from '../runtime-driver.js';
import type { EngineApi } from './engine-api.js';
import { inspectContainer, listInstanceContainers, removeContainer, startContainer, stopContainer } from './containers.js';
import { importRootfs } from './image-archive.js';
import { watchContainers } from './container-watch.js';

const skip = dockerSkipReason() ?? false;
const engine = useBusyboxEngine(skip);
const api = (): EngineApi => engine().engine.api;

function spec(id: string, runCommand: string, overrides: Partial<StartInstanceSpec> = {}): StartInstanceSpec {
  return {
    id,
    release: { kind: 'image', image: 'slipway-test/busybox:1' },
    runCommand,
    port: 3000,
    env: { PATH: '/bin', GREETING: 'hi' },
    resources: { ...DEFAULT_RESOURCES, memory_mb: 32, cpu_millis: 500, pids_max: 16, disk_mb: 8 },
    logPath: '/dev/null',
    ...overrides,
  };
}

/** Runs `runCommand` in an instance container until it exits; its output and how it ended. */
async function runToExit(id: string, runCommand: string, overrides: Partial<StartInstanceSpec> = {}) {
  const started = await startContainer(api(), spec(id, runCommand, overrides));
  const state = await waitFor(async () => {
    const s = await inspectContainer(api(), started.containerId);
    return s && !s.running ? s : null;
  }, { timeoutMs: 30_000, description: `${id} to exit` });
  const logs = await text(await api().stream({ method: 'GET', path: `/containers/${started.containerId}/logs`, query: { stdout: true, stderr: true } }));
  await removeContainer(api(), started.containerId);
  return { started, state, logs };
}

test('an instance container runs unprivileged, without network, on a read-only root with a writable /tmp', { skip }, async (t) => {
  const t0 = Date.now();
  const { started, state, logs } = await runToExit(
    'rti_shape',
    'id -u; ls /sys/class/net; grep CapEff /proc/self/status; echo "port=$PORT home=$HOME greeting=$GREETING"; touch /rootfile 2>&1 || true; touch /tmp/x && echo tmp-writable',
  );
  t.diagnostic(`container create+start+exit took ${Date.now() - t0} ms`);
  assert.equal(state.exit.exitCode, 0, logs);
  assert.equal(started.user, '65534:65534', 'an image naming no user runs as nobody, not root');
  assert.match(logs, /^.*65534$/m);
  assert.match(logs, /^.*lo$/m);
  assert.doesNotMatch(logs, /eth0|veth/, 'only the loopback interface exists');
  assert.match(logs, /CapEff:\s+0000000000000000/, 'no capabilities');
  assert.match(logs, /port=3000 home=\/tmp greeting=hi/);
  assert.match(logs, /Read-only file system/);
  assert.match(logs, /tmp-writable/);
});

test("the image's own non-root user is kept; root in the image is not", { skip }, async () => {
  await importRootfs(api(), await imageTarOf('slipway-test/busybox:1'), { ref: 'slipway-test/as-app:1', changes: ['USER app'] });
  await importRootfs(api(), await imageTarOf('slipway-test/busybox:1'), { ref: 'slipway-test/as-root:1', changes: ['USER root'] });
  const asApp = await runToExit('rti_user_app', 'id -u', { release: { kind: 'image', image: 'slipway-test/as-app:1' } });
  assert.equal(asApp.started.user, 'app');
  assert.match(asApp.logs, /10001/);
  const asRoot = await runToExit('rti_user_root', 'id -u', { release: { kind: 'image', image: 'slipway-test/as-root:1' } });
  assert.equal(asRoot.started.user, '65534:65534');
  assert.match(asRoot.logs, /65534/);
});

test("a run command replaces the image's ENTRYPOINT as well as its command", { skip }, async () => {
  await importRootfs(api(), await imageTarOf('slipway-test/busybox:1'), { ref: 'slipway-test/entry:1', changes: ['ENTRYPOINT ["/bin/echo", "from-entrypoint"]'] });
  const run = await runToExit('rti_entry', 'echo from-run-command', { release: { kind: 'image', image: 'slipway-test/entry:1' } });
  assert.match(run.logs, /from-run-command/);
  assert.doesNotMatch(run.logs, /from-entrypoint/);
});

test('memory, CPU and pids limits are enforced inside the container', { skip }, async () => {
  const cpu = await runToExit('rti_cpu', 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us');
  assert.match(cpu.logs, /50000\D+100000/, 'half a core: a 50 ms quota per 100 ms period');

  const fork40 = 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo spawned-all';
  // A control first: with room for them, the 40 processes start.
  const roomy = await runToExit('rti_pids_ok', fork40, { resources: { ...spec('x', '').resources, pids_max: 64 } });
  assert.match(roomy.logs, /spawned-all/);
  assert.doesNotMatch(roomy.logs, /can't fork/);
  const pids = await runToExit('rti_pids', fork40);
  assert.match(pids.logs, /can't fork|Resource temporarily unavailable/, pids.logs);

  // A control first: memory use within the limit ends normally.
  const small = await runToExit('rti_mem_ok', 'dd if=/dev/zero of=/dev/null bs=1M count=8 && echo fits');
  assert.equal(small.state.exit.oomKilled, false);
  // Killed (SIGKILL: 137) for its memory: nothing else signals it. The engine's own OOMKilled
  // flag is not asserted here: Docker 20.10 misses it when the kernel's notice comes after the
  // exit (seen under load); the event-fed record the driver uses is tested below.
  const oom = await runToExit('rti_mem', 'a=x; while true; do a="$a$a"; done');
  assert.equal(oom.state.exit.exitCode, 137, 'the kernel killed it for its memory');
});

test('containers are found again by their instance label, and removal is idempotent', { skip }, async (t) => {
  const t0 = Date.now();
  const started = await startContainer(api(), spec('rti_readopt', 'sleep 300'));
  t.diagnostic(`container create+start: ${Date.now() - t0} ms`);
  try {
    const found = await listInstanceContainers(api());
    assert.equal(found.get('rti_readopt'), started.containerId);
    assert.equal((await inspectContainer(api(), started.containerId))?.running, true);
    // A second start of the same instance id is refused by the engine (one container per instance).
    await assert.rejects(startContainer(api(), spec('rti_readopt', 'sleep 300')), (err) => isSlipwayError(err) && /Conflict|already in use/i.test(err.message));
  } finally {
    await removeContainer(api(), started.containerId);
  }
  await removeContainer(api(), started.containerId);
  assert.equal(await inspectContainer(api(), started.containerId), null);
  assert.equal((await listInstanceContainers(api())).has('rti_readopt'), false);
});

test('the event-fed view says which containers run, without asking the engine per call', { skip }, async () => {
  const watch = await watchContainers(api());
  const long = await startContainer(api(), spec('rti_watch_long', 'sleep 300'));
  const short = await startContainer(api(), spec('rti_watch_short', 'echo bye'));
  try {
    await waitFor(() => watch.isRunning(long.containerId), { description: 'the long one to show as running' });
    await waitFor(async () => !(await watch.isRunning(short.containerId)) && (await inspectContainer(api(), short.containerId))?.running === false, {
      description: 'the short one to show as ended',
    });
    // An exec'd process ending is not the container ending.
    const exec = await api().json<{ Id: string }>({ method: 'POST', path: `/containers/${long.containerId}/exec`, json: { Cmd: ['true'] } });
    await (await api().stream({ method: 'POST', path: `/exec/${exec.Id}/start`, json: { Detach: false } })).resume();
    await waitFor(async () => (await api().json<{ Running: boolean }>({ method: 'GET', path: `/exec/${exec.Id}/json` })).Running === false, { description: 'the exec to end' });
    assert.equal(await watch.isRunning(long.containerId), true);
    await stopContainer(api(), long.containerId, 1_000);
    await waitFor(async () => !(await watch.isRunning(long.containerId)), { description: 'the stopped one to show as ended' });
  } finally {
    watch.close();
    await removeContainer(api(), long.containerId);
    await removeContainer(api(), short.containerId);
  }
});

test('the event-fed view records an OOM kill, which the engine\'s own flag may miss; a plain exit is none', { skip }, async () => {
  const watch = await watchContainers(api());
  const oom = await startContainer(api(), spec('rti_watch_oom', 'a=x; while true; do a="$a$a"; done'));
  const fine = await startContainer(api(), spec('rti_watch_fine', 'echo fine'));
  try {
    await waitFor(() => watch.sawOomKill(oom.containerId), { timeoutMs: 30_000, description: 'the oom event' });
    await waitFor(async () => (await inspectContainer(api(), fine.containerId))?.running === false, { description: 'the plain one to end' });
    await waitFor(async () => !(await watch.isRunning(fine.containerId)), { description: 'the plain one to show as ended' });
    assert.equal(watch.sawOomKill(fine.containerId), false);
  } finally {
    watch.close();
    await removeContainer(api(), oom.containerId);
    await removeContainer(api(), fine.containerId);
  }
});

test('a file-tree release is refused with unavailable (this slice runs images only)', { skip }, async () => {
  await assert.rejects(
    startContainer(api(), spec('rti_tree', 'true', { release: { kind: 'tree', appDir: '/nonexistent' } })),
    (err) => isSlipwayError(err, 'unavailable'),
  );
});

/** The root file system of `image` as a tar (export of a created, never started, container). */
async function imageTarOf(image: string): Promise<Buffer> {
  const created = await api().json<{ Id: string }>({ method: 'POST', path: '/containers/create', json: { Image: image, Labels: { 'dev.slipway.owned': 'true' } } });
  try {
    const body = await api().stream({ method: 'GET', path: `/containers/${created.Id}/export` });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    await removeContainer(api(), created.Id);
  }
}
