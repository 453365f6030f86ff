import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES, type InstanceAssignment, type InstanceReport } from '../core/runtime.js';
import type { InstanceHandle, RuntimeDriver } from '../runtime/runtime-driver.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { startAgent } from './agent-process.js';
import type { ControlPlaneClient } from './control-plane-client.js';

// Re-adoption after an agent restart, with the driver and the server replaced: the question is
// only what the agent does with a handle it found, so the driver is a recording stand-in and the
// "instance" a real HTTP server on the loopback that its handle points at.

/** A driver that knows one running instance, and whose `isRunning` throws `failures` times first. */
function adoptingDriver(handle: InstanceHandle, failures: number): RuntimeDriver & { calls: string[] } {
  const calls: string[] = [];
  let left = failures;
  return {
    name: 'fake', calls,
    capabilities: { isolatedNetwork: true, sandboxedFilesystem: true, resourceLimits: true, resourceLimitsReason: null, ownUser: true, containerImages: true },
    prepare: async () => {},
    start: async (spec) => (calls.push(`start ${spec.id}`), { ...handle, startedAt: Date.now() }),
    async isRunning(h) {
      calls.push(`isRunning ${h.id}`);
      // As the docker driver does when the engine's event stream cannot be reopened.
      if (left-- > 0) throw new Error('the Docker engine did not answer GET /events');
      return true;
    },
    listeningPorts: async () => [handle.port],
    connectionCount: async () => 0,
    exitInfo: async () => ({ oomKilled: false, exitCode: 0, signal: null }),
    stop: async (h) => void calls.push(`stop ${h.id}`),
    remove: async (h) => void calls.push(`remove ${h.id}`),
    list: async () => [handle],
    destroyAll: async () => {},
  };
}

/** A server that assigns `assignment` once, then holds every long poll until the agent closes. */
function oneAssignment(assignment: InstanceAssignment): ControlPlaneClient & { reports: InstanceReport[]; downloads: number } {
  const reports: InstanceReport[] = [];
  const self = {
    reports, downloads: 0,
    async assignments(after: string | undefined, _waitMs: number, signal?: AbortSignal) {
      if (after !== '1') return { revision: '1', assignments: [assignment] };
      await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      throw new Error('unreachable');
    },
    report: async (r: InstanceReport) => (reports.push(r), 'ok' as const),
    shipLogs: async () => 'ok' as const,
    download: async () => {
      self.downloads++;
      throw new Error('the test server has no releases');
    },
  };
  return self;
}

test('an instance found at start-up is re-adopted even when the driver cannot yet say whether it runs, never started a second time', async () => {
  const app: Server = createServer((_q, s) => s.end('ok'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const { port } = app.address() as AddressInfo;
  const dir = await makeTempDir('agent-process-test-');
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    const handle: InstanceHandle = { id: 'rti_adopt', address: `127.0.0.1:${port}`, port, startedAt: Date.now() - 5000, data: { driver: 'fake' } };
    const driver = adoptingDriver(handle, 1);
    const client = oneAssignment({
      runtime_instance_id: 'rti_adopt', deployment_id: 'dep_1', service_id: 'svc_1', version_id: 'ver_1', version_number: 1, slug: 'app',
      artifact_sha256: 'e'.repeat(64), image: 'sha256:'.padEnd(71, 'f'), run_command: '', port, env: {},
      health: { ...DEFAULT_HEALTH_CHECK, interval_ms: 100 }, resources: DEFAULT_RESOURCES, crash_loop_budget: 5, desired: 'running',
      drain_timeout_ms: 1000, fail_fast: false, restart_count: 0,
    });
    agent = await startAgent({ serverUrl: 'http://unused', token: 'unused', stateDir: dir, driver, client, pollMs: 1000, log: () => {} });
    const healthy = await waitFor(() => client.reports.find((r) => r.state === 'healthy' || r.state === 'failed'), { timeoutMs: 10_000, description: 'a verdict' });
    assert.equal(healthy.state, 'healthy', healthy.reason);
    assert.equal(healthy.address, handle.address);
    assert.deepEqual(driver.calls.filter((c) => !c.startsWith('isRunning')), [], 'the instance was neither started again, stopped nor removed');
    assert.equal(client.downloads, 0, 'no release was fetched for a new start');
    assert.deepEqual(agent.instanceIds(), ['rti_adopt']);
  } finally {
    await agent?.close();
    await new Promise((resolve) => app.close(resolve));
    await removeDir(dir);
  }
});
