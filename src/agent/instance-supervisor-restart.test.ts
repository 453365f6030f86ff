import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostProbe, localLeftovers, uniqueNames } from '../../test/support/local-driver-modes.js';
import { killTree } from '../../test/support/processes.js';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES, type InstanceAssignment, type InstanceReport } from '../core/runtime.js';
import { createLocalDriver, type LocalDriver } from '../runtime/local/local-driver.js';
import { processTree } from '../runtime/local/process-tree.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { InstanceSupervisor } from './instance-supervisor.js';

// Restarts after a crash, against the real local driver and real processes (only the server is
// replaced: reports are collected): the first crash after a healthy run restarts at once, the
// backoff is for crashes in a row. Asserted on the reports and the starts, in order; the only
// time bound is a lower one (a backoff was waited), which a slow machine cannot break.
const { run, subnet } = uniqueNames('r');

const MODES = [
  { name: 'isolated', isolation: 'auto', skip: hostProbe.available ? false : `needs the sandbox: ${hostProbe.reason}` },
  { name: 'plain processes', isolation: 'none', skip: false },
] as const;

for (const mode of MODES) {
  describe(`instance supervisor restarts (${mode.name})`, { skip: mode.skip }, () => {
    const label = `${run}${mode.isolation === 'auto' ? 'i' : 'n'}`;
    let root: string;
    let appDir: string;
    let driver: LocalDriver;
    const supervisors: InstanceSupervisor[] = [];

    before(async () => {
      root = await makeTempDir('supervisor-restart-test-');
      appDir = join(root, 'app');
      await mkdir(appDir);
      await writeFile(join(appDir, 'ok.js'), `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT));\n`);
      driver = createLocalDriver({ stateDir: join(root, 'state'), uidBase: 467_000, subnet, label, isolation: mode.isolation });
      await driver.prepare();
    });
    after(async () => {
      try {
        for (const s of supervisors) s.detach();
        await driver?.destroyAll();
        if (hostProbe.available) assert.deepEqual(await localLeftovers(label, subnet), []);
      } finally {
        if (root) await removeDir(root);
      }
    });

    /** SIGKILLs the whole process tree of the one running instance. */
    async function killInstance(): Promise<void> {
      const [handle] = await driver.list();
      assert.ok(handle, 'an instance runs');
      killTree(processTree(handle.data.pid as number, null));
    }

    test('a crash after a healthy run restarts at once; a second crash in a row waits the 1 s backoff', async () => {
      const reports: InstanceReport[] = [];
      const starts: number[] = [];
      const assignment: InstanceAssignment = {
        runtime_instance_id: 'rti_crash', deployment_id: 'dep_1', service_id: 'svc_1', version_id: 'ver_1', version_number: 1, slug: 'app',
        artifact_sha256: 'c'.repeat(64), image: null, run_command: 'exec node ok.js', port: 3000, env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        health: { ...DEFAULT_HEALTH_CHECK, interval_ms: 250 }, resources: DEFAULT_RESOURCES, crash_loop_budget: 5, desired: 'running',
        drain_timeout_ms: 1000, fail_fast: false, restart_count: 0,
      };
      const sup = new InstanceSupervisor(assignment, {
        driver,
        release: async () => (starts.push(Date.now()), { kind: 'tree', appDir }),
        report: async (r) => (reports.push(r), 'ok'),
        logDir: join(root, 'logs'),
        log: () => {},
      });
      supervisors.push(sup);
      sup.start();
      const healthyReports = () => reports.filter((r) => r.state === 'healthy').length;
      await waitFor(() => healthyReports() === 1, { timeoutMs: 15_000, description: 'healthy' });

      await killInstance();
      await waitFor(() => healthyReports() === 2, { timeoutMs: 15_000, description: 'healthy again after the first crash' });
      assert.deepEqual(reports.map((r) => r.state), ['starting', 'healthy', 'starting', 'healthy'], 'one report for the crash and the new start: no backoff in between');
      assert.match(reports[2]!.reason, /; restarting now$/);
      assert.equal(reports[2]!.restart_count, 1);
      assert.equal(starts.length, 2);

      const secondKill = Date.now();
      await killInstance();
      await waitFor(() => healthyReports() === 3, { timeoutMs: 15_000, description: 'healthy again after the second crash' });
      assert.deepEqual(reports.slice(4).map((r) => r.state), ['starting', 'starting', 'healthy'], 'the backoff is reported, then the start');
      assert.match(reports[4]!.reason, /; restarting in 1 s$/);
      assert.equal(starts.length, 3);
      assert.ok(starts[2]! - secondKill >= 1000, `restarted ${starts[2]! - secondKill} ms after the second crash, not after the 1 s backoff`);
      sup.update({ ...sup.assignment, desired: 'stopped' });
      await sup.done;
      assert.deepEqual(await driver.list(), [], 'the instance was stopped and removed');
    });
  });
}
