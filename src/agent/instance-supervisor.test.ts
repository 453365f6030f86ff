import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostProbe, localLeftovers, uniqueNames } from '../../test/support/local-driver-modes.js';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES, type InstanceAssignment, type InstanceReport } from '../core/runtime.js';
import { createLocalDriver, type LocalDriver } from '../runtime/local/local-driver.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { InstanceSupervisor } from './instance-supervisor.js';

// The supervisor against the real local driver and real processes: only the server is replaced
// (reports are collected). The health grace stays at its default of 60 s throughout, so a
// start that fails within seconds proves it was not waited out.
const { run, subnet } = uniqueNames('s');

const APPS: Record<string, string> = {
  // Listens on a port of its own choosing, never on PORT.
  'wrong.js': `const s = require('node:http').createServer((q, r) => r.end('x')).listen(0, () => console.log('WRONG ' + s.address().port));\n`,
  // Listens on PORT, but on the loopback only.
  'loopback.js': `require('node:http').createServer((q, s) => s.end('x')).listen(Number(process.env.PORT), '127.0.0.1');\n`,
  // A debug/metrics port first, the HTTP port 800 ms later: well inside the confirmation time
  // (WRONG_PORT_CONFIRM_MS, 5 s), so a loaded machine's slow checks cannot turn it into a failure.
  'late.js': `const http = require('node:http');
http.createServer((q, s) => s.end('metrics')).listen(0, () => setTimeout(() => http.createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT)), 800));\n`,
  // Opens PORT 800 ms after it starts, like a framework server loading its code first.
  'slow.js': `setTimeout(() => require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT)), 800);\n`,
  // Never listens at all.
  'never.js': `setInterval(() => {}, 1000);\n`,
};

const MODES = [
  { name: 'isolated', isolation: 'auto', skip: hostProbe.available ? false : `needs the sandbox: ${hostProbe.reason}` },
  { name: 'plain processes', isolation: 'none', skip: false },
] as const;

for (const mode of MODES) {
  describe(`instance supervisor with the local driver (${mode.name})`, { skip: mode.skip }, () => {
    const label = `${run}${mode.isolation === 'auto' ? 'i' : 'n'}`;
    let root: string;
    let appDir: string;
    let driver: LocalDriver;
    const supervisors: InstanceSupervisor[] = [];

    before(async () => {
      root = await makeTempDir('supervisor-test-');
      appDir = join(root, 'app');
      await mkdir(appDir);
      for (const [file, text] of Object.entries(APPS)) await writeFile(join(appDir, file), text);
      driver = createLocalDriver({ stateDir: join(root, 'state'), uidBase: 466_000, subnet, label, isolation: mode.isolation });
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

    function supervise(id: string, file: string, o: { failFast: boolean; graceMs?: number; intervalMs?: number; driver?: LocalDriver }): { sup: InstanceSupervisor; reports: InstanceReport[] } {
      const reports: InstanceReport[] = [];
      const assignment: InstanceAssignment = {
        runtime_instance_id: id, deployment_id: 'dep_1', service_id: 'svc_1', version_id: 'ver_1', version_number: 1, slug: 'app',
        artifact_sha256: 'a'.repeat(64), image: null, run_command: `exec node ${file}`, port: 3000, env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        health: { ...DEFAULT_HEALTH_CHECK, interval_ms: o.intervalMs ?? 250, grace_period_ms: o.graceMs ?? DEFAULT_HEALTH_CHECK.grace_period_ms, unhealthy_threshold: 2 }, resources: DEFAULT_RESOURCES, crash_loop_budget: 5, desired: 'running',
        drain_timeout_ms: 1000, fail_fast: o.failFast, restart_count: 0,
      };
      const sup = new InstanceSupervisor(assignment, {
        driver: o.driver ?? driver,
        release: async () => ({ kind: 'tree', appDir }),
        report: async (r) => {
          reports.push(r);
          return 'ok';
        },
        logDir: join(root, 'logs'),
        log: () => {},
      });
      supervisors.push(sup);
      sup.start();
      return { sup, reports };
    }

    test('an app listening on another port than PORT fails its start in seconds, naming the port and the fix', async () => {
      const t0 = Date.now();
      const { sup, reports } = supervise('rti_wrong', 'wrong.js', { failFast: true });
      await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 30_000, description: 'the start to fail' });
      const took = Date.now() - t0;
      const failed = reports.find((r) => r.state === 'failed')!;
      assert.equal(failed.reason_code, 'wrong_port', failed.reason);
      const port = /WRONG (\d+)/.exec(failed.log_tail ?? '')?.[1];
      assert.ok(port, `the tail shows the app's port: ${failed.log_tail}`);
      const fix = mode.isolation === 'auto' ? `read PORT, or publish with --port ${port}` : 'read PORT (this host picks the port)';
      assert.match(failed.reason, new RegExp(`^the app listens on ${port}, not on \\d+ \\(PORT\\): ${fix.replace(/[()]/g, '\\$&')}$`));
      // The confirmation takes 5 s; half the grace leaves a loaded CI machine room, and is still
      // far short of the 60 s a start waiting out the grace would take.
      assert.ok(took < 30_000, `failed after ${took} ms; the 60 s grace must not be waited out`);
      await sup.done;
      assert.deepEqual(await driver.list(), [], 'the instance was stopped and removed');
    });

    test('outside a rollout, a wrong port is restarted with backoff at once, with the same code', async () => {
      const { sup, reports } = supervise('rti_wrong2', 'wrong.js', { failFast: false });
      const restart = await waitFor(() => reports.find((r) => r.state === 'starting' && r.reason_code === 'wrong_port'), {
        timeoutMs: 30_000, description: 'a restart for the wrong port',
      });
      assert.match(restart.reason, /^the app listens on \d+, not on \d+ \(PORT\): .*; restarting in 1 s$/);
      sup.update({ ...sup.assignment, desired: 'stopped' });
      await sup.done;
    });

    test('an app on PORT but only on the loopback is told to listen on 0.0.0.0 (sandboxed instances)', { skip: mode.isolation !== 'auto' && 'a plain instance is reached through the loopback' }, async () => {
      const { sup, reports } = supervise('rti_loop', 'loopback.js', { failFast: true, graceMs: 1000 });
      await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 15_000, description: 'the start to fail' });
      const failed = reports.find((r) => r.state === 'failed')!;
      assert.equal(failed.reason_code, 'not_listening');
      assert.match(failed.reason, /^the app listens on port 3000 but refuses connections to 10\.[\d.]+:3000: listen on 0\.0\.0\.0, not 127\.0\.0\.1$/);
      await sup.done;
    });

    test('an app that opens another port first and PORT shortly after becomes healthy', async () => {
      const { sup, reports } = supervise('rti_late', 'late.js', { failFast: true });
      await waitFor(() => reports.some((r) => r.state === 'healthy' || r.state === 'failed'), { timeoutMs: 30_000, description: 'a verdict' });
      assert.deepEqual(reports.map((r) => [r.state, r.reason_code]), [['starting', null], ['healthy', null]]);
      sup.update({ ...sup.assignment, desired: 'stopped' });
      await sup.done;
    });

    test('a starting app is seen as soon as it opens PORT, not at the next health interval', async () => {
      // A 30 s interval: checked only at the interval, the app (listening at ~0.8 s) would be
      // seen after 30 s at the earliest (15 s leaves room for a loaded CI machine). The ports are still looked at only once an interval.
      let portLooks = 0;
      const counting: LocalDriver = { ...driver, listeningPorts: (h) => (portLooks++, driver.listeningPorts(h)) };
      const t0 = Date.now();
      const { sup, reports } = supervise('rti_slow', 'slow.js', { failFast: true, intervalMs: 30_000, driver: counting });
      await waitFor(() => reports.some((r) => r.state === 'healthy' || r.state === 'failed'), { timeoutMs: 60_000, description: 'a verdict' });
      const took = Date.now() - t0;
      assert.deepEqual(reports.map((r) => [r.state, r.reason_code]), [['starting', null], ['healthy', null]]);
      assert.ok(took < 15_000, `healthy after ${took} ms; the 30 s interval must not be waited out`);
      assert.ok(portLooks <= 1, `the ports were looked at ${portLooks} times within one interval`);
      sup.update({ ...sup.assignment, desired: 'stopped' });
      await sup.done;
    });

    test('past the grace, checks come at the configured interval again: the unhealthy threshold still means that many intervals', async () => {
      // Grace 500 ms, then unhealthy_threshold (2) failed checks 1 s apart: no verdict before
      // 1.5 s, however quickly the start was rechecked within the grace.
      const t0 = Date.now();
      const { sup, reports } = supervise('rti_never', 'never.js', { failFast: true, graceMs: 500, intervalMs: 1000 });
      await waitFor(() => reports.some((r) => r.state === 'failed'), { timeoutMs: 30_000, description: 'the start to fail' });
      const took = Date.now() - t0;
      const failed = reports.find((r) => r.state === 'failed')!;
      assert.equal(failed.reason_code, 'not_listening', failed.reason);
      assert.ok(took >= 1500, `failed after ${took} ms, before grace + one interval`);
      await sup.done;
    });
  });
}
