import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniqueNames } from '../../test/support/local-driver-modes.js';
import { SlipwayError } from '../core/errors.js';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES, type InstanceAssignment, type InstanceReport } from '../core/runtime.js';
import { createLocalDriver, type LocalDriver } from '../runtime/local/local-driver.js';
import type { RuntimeDriver } from '../runtime/runtime-driver.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { InstanceSupervisor, type SupervisorDeps } from './instance-supervisor.js';
import { createReleaseResolver } from './release-resolver.js';
import { ReleaseStore } from './release-store.js';

// Starts that throw (the release cannot be had, the driver refuses): they must end in a report
// and a backoff like an exit does, never in a silent retry on every tick. The release function
// is a stand-in where the test needs one to throw; the driver is the real local driver in plain
// mode, and the app a real process where one runs.
const { run, subnet } = uniqueNames('t');

describe('instance supervisor: starts that throw', () => {
  let root: string;
  let appDir: string;
  let driver: LocalDriver;
  const supervisors: InstanceSupervisor[] = [];

  before(async () => {
    root = await makeTempDir('supervisor-start-test-');
    appDir = join(root, 'app');
    await mkdir(appDir);
    await writeFile(join(appDir, 'ok.js'), `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT));\n`);
    driver = createLocalDriver({ stateDir: join(root, 'state'), subnet, label: `${run}n`, isolation: 'none' });
    await driver.prepare();
  });
  after(async () => {
    try {
      for (const s of supervisors) s.detach();
      await driver?.destroyAll();
    } finally {
      if (root) await removeDir(root);
    }
  });

  /** Supervises `id`; `calls` holds the time of each release resolution. */
  function supervise(id: string, o: {
    release?: SupervisorDeps['release']; driver?: RuntimeDriver; failFast?: boolean; budget?: number; image?: string | null;
  }): { sup: InstanceSupervisor; reports: InstanceReport[]; calls: number[] } {
    const reports: InstanceReport[] = [];
    const calls: number[] = [];
    const assignment: InstanceAssignment = {
      runtime_instance_id: id, deployment_id: 'dep_1', service_id: 'svc_1', version_id: 'ver_1', version_number: 1, slug: 'app',
      artifact_sha256: 'b'.repeat(64), image: o.image ?? null, run_command: 'exec node ok.js', port: 3000, env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      health: { ...DEFAULT_HEALTH_CHECK, interval_ms: 250 }, resources: DEFAULT_RESOURCES, crash_loop_budget: o.budget ?? 5, desired: 'running',
      drain_timeout_ms: 1000, fail_fast: o.failFast ?? false, restart_count: 0,
    };
    const release = o.release ?? (async () => ({ kind: 'tree', appDir }) as const);
    const sup = new InstanceSupervisor(assignment, {
      driver: o.driver ?? driver,
      release: (ref) => (calls.push(Date.now()), release(ref)),
      report: async (r) => (reports.push(r), 'ok'),
      logDir: join(root, 'logs'),
      log: () => {},
    });
    supervisors.push(sup);
    sup.start();
    return { sup, reports, calls };
  }

  const states = (reports: InstanceReport[]) => reports.map((r) => [r.state, r.reason_code]);

  test('an image release on an agent without a Docker engine fails once with `unavailable`, not a retry every tick', async () => {
    // The agent's own resolver, as `slipway agent` builds it without an engine: it never
    // reaches the release store for an image release.
    const client = { download: () => Promise.reject(new Error('no download expected')) } as unknown as ControlPlaneClient;
    const resolver = createReleaseResolver(new ReleaseStore(join(root, 'releases'), client), null);
    const { sup, reports, calls } = supervise('rti_noengine', { release: resolver, image: 'sha256:'.padEnd(71, 'c') });
    await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 5000, description: 'the instance to fail' });
    await sup.done;
    assert.deepEqual(states(reports), [['starting', null], ['failed', 'unavailable']]);
    assert.match(reports[1]!.reason, /SLIPWAY_RUNTIME_DRIVER=docker/);
    assert.equal(calls.length, 1, 'the release was resolved once');
  });

  test('a release whose blob does not hold its image fails once with `invalid_archive`', async () => {
    const { sup, reports, calls } = supervise('rti_badblob', {
      release: () => Promise.reject(new SlipwayError('invalid_archive', 'release bbb holds image sha256:ddd, not sha256:ccc')),
    });
    await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 5000, description: 'the instance to fail' });
    await sup.done;
    assert.deepEqual(states(reports), [['starting', null], ['failed', 'invalid_archive']]);
    assert.equal(calls.length, 1, 'the release was resolved (downloaded) once');
  });

  test('a passing failure (the engine did not answer) is retried with the crash-loop backoff, then fails once the budget is spent', async () => {
    const { sup, reports, calls } = supervise('rti_flaky', {
      budget: 1,
      release: () => Promise.reject(new SlipwayError('unavailable', 'the Docker engine at /x/docker.sock did not answer GET /images: ECONNREFUSED')),
    });
    await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 10_000, description: 'the instance to fail' });
    await sup.done;
    assert.deepEqual(states(reports), [['starting', null], ['starting', 'unavailable'], ['starting', null], ['failed', 'unavailable']]);
    assert.match(reports[1]!.reason, /did not answer .*; restarting in 1 s$/);
    assert.match(reports[3]!.reason, /gave up after 1 restarts in a row/);
    assert.equal(calls.length, 2, 'one start and one restart, not one every tick');
    assert.ok(calls[1]! - calls[0]! >= 1000, `restarted ${calls[1]! - calls[0]!} ms after the failure, not after the 1 s backoff`);
  });

  test('a driver start that throws once (a name still taken) is retried after the backoff and the app then becomes healthy', async () => {
    let refusals = 0;
    const refusingOnce: RuntimeDriver = {
      ...driver,
      start: (spec) => (refusals++ === 0 ? Promise.reject(new Error('container name "/slipway-rti_conflict" is already in use')) : driver.start(spec)),
    };
    const { sup, reports, calls } = supervise('rti_conflict', { driver: refusingOnce });
    await waitFor(() => reports.some((r) => r.state === 'healthy' || r.state === 'failed'), { timeoutMs: 15_000, description: 'a verdict' });
    assert.deepEqual(states(reports), [['starting', null], ['starting', 'internal_error'], ['starting', null], ['healthy', null]]);
    assert.match(reports[1]!.reason, /already in use; restarting in 1 s$/);
    assert.equal(calls.length, 2);
    assert.ok(calls[1]! - calls[0]! >= 1000, `restarted ${calls[1]! - calls[0]!} ms after the failure`);
    sup.update({ ...sup.assignment, desired: 'stopped' });
    await sup.done;
    assert.deepEqual(await driver.list(), [], 'the instance was stopped and removed');
  });

  test('a started instance reports its limits as the driver that runs it enforces them, not as the driver as a whole', async () => {
    // Control: plain processes are not held to limits, so the whole driver says so.
    assert.equal(driver.capabilities.resourceLimits, false);
    // As the composite driver answers for a container on such a host.
    const perInstance: RuntimeDriver = { ...driver, capabilitiesOf: () => ({ ...driver.capabilities, resourceLimits: true, resourceLimitsReason: null }) };
    const { sup, reports } = supervise('rti_limits', { driver: perInstance });
    const healthy = await waitFor(() => reports.find((r) => r.state === 'healthy' || r.state === 'failed'), { timeoutMs: 15_000, description: 'a verdict' });
    assert.equal(healthy.state, 'healthy', healthy.reason);
    assert.equal(healthy.unenforced_limits, null);
    sup.update({ ...sup.assignment, desired: 'stopped' });
    await sup.done;
  });

  test('during a rollout a start that throws fails the instance at once, as an exit does', async () => {
    const { sup, reports, calls } = supervise('rti_rollout', {
      failFast: true, release: () => Promise.reject(new Error('ENOSPC: no space left on device')),
    });
    await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 5000, description: 'the instance to fail' });
    await sup.done;
    assert.deepEqual(states(reports), [['starting', null], ['failed', 'internal_error']]);
    assert.match(reports[1]!.reason, /ENOSPC/);
    assert.equal(calls.length, 1);
  });
});
