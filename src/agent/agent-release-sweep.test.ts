import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES, type InstanceAssignment } from '../core/runtime.js';
import type { InstanceHandle, RuntimeDriver } from '../runtime/runtime-driver.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { startAgent } from './agent-process.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { claimingReleases, ReleaseClaims } from './release-claims.js';

// The agent's side of the release sweep: what it counts as in use, and when it sweeps at all.
// The driver is a stand-in whose instances are a real HTTP server on the loopback; the agent
// adopts one of them at start-up. The releases are real folders in the agent's state directory.

const RUNNING = 'a'.repeat(64);
const STOPPED = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const GRACE_MS = 60_000;

/** What the stand-in driver runs: `listed` is what `list()` reports, `stopped` what no longer runs. */
interface HostState {
  port: number;
  listed: InstanceHandle[];
  stopped: Set<string>;
  stopFails: boolean;
}

function standInDriver(host: HostState): RuntimeDriver {
  return {
    name: 'fake',
    capabilities: { isolatedNetwork: true, sandboxedFilesystem: true, resourceLimits: true, resourceLimitsReason: null, ownUser: true, containerImages: false },
    prepare: async () => {},
    start: async (spec) => {
      const handle = { id: spec.id, address: `127.0.0.1:${host.port}`, port: host.port, startedAt: Date.now(), data: { driver: 'fake' } };
      host.listed.push(handle);
      return handle;
    },
    isRunning: async (h) => !host.stopped.has(h.id),
    listeningPorts: async () => [host.port],
    connectionCount: async () => 0,
    exitInfo: async () => ({ oomKilled: false, exitCode: 0, signal: null }),
    stop: async (h) => {
      if (host.stopFails) throw new Error('the engine refused');
      host.stopped.add(h.id);
    },
    remove: async () => {},
    list: async () => [...host.listed],
    destroyAll: async () => {},
  };
}

/** A server that assigns `assignment` once, then holds every long poll until the agent closes. */
function oneAssignment(assignment: InstanceAssignment): ControlPlaneClient & { healthy: boolean } {
  const self = {
    healthy: false,
    async assignments(after: string | undefined, _waitMs: number, signal?: AbortSignal) {
      if (after !== '1') return { revision: '1', assignments: [assignment] };
      await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      throw new Error('unreachable');
    },
    report: async (r: { state: string }) => {
      if (r.state === 'healthy') self.healthy = true;
      return 'ok' as const;
    },
    shipLogs: async () => 'ok' as const,
    download: async (): Promise<ReadableStream<Uint8Array>> => {
      throw new Error('the test server has no releases');
    },
  };
  return self;
}

interface Scene {
  dir: string;
  host: HostState;
  logs: string[];
  /** Waits until two sweep passes began after now (one in flight may have read the old clock). */
  twoMorePasses(): Promise<void>;
  /** Moves the agent's clock past the grace of every release unused so far. */
  passGrace(): void;
  exists(sha: string): Promise<boolean>;
}

/**
 * Runs `body` beside an agent that adopted `rti_run` (release RUNNING) at start-up, with the
 * releases RUNNING, STOPPED and OTHER on disk and `before` applied to the host first.
 */
async function withAgent(before: (scene: Scene) => Promise<void> | void, body: (scene: Scene) => Promise<void>): Promise<void> {
  const app: Server = createServer((_q, s) => s.end('ok'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const { port } = app.address() as AddressInfo;
  const dir = await makeTempDir('agent-release-sweep-test-');
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    for (const sha of [RUNNING, STOPPED, OTHER]) {
      await mkdir(join(dir, 'releases', sha), { recursive: true });
      await writeFile(join(dir, 'releases', sha, 'server.js'), '// app\n');
    }
    const host: HostState = {
      port, stopped: new Set(), stopFails: false,
      listed: [{ id: 'rti_run', address: `127.0.0.1:${port}`, port, startedAt: Date.now() - 5000, data: { driver: 'fake' } }],
    };
    const clock = { ms: 1_000_000 };
    const passes = { n: 0 };
    const scene: Scene = {
      dir, host, logs: [],
      twoMorePasses: async () => {
        const target = passes.n + 2;
        await waitFor(() => passes.n >= target, { description: 'two more sweep passes' });
      },
      passGrace: () => void (clock.ms += GRACE_MS + 1),
      exists: async (sha) => (await stat(join(dir, 'releases', sha)).catch(() => null)) !== null,
    };
    await before(scene);
    const client = oneAssignment({
      runtime_instance_id: 'rti_run', deployment_id: 'dep_1', service_id: 'svc_1', version_id: 'ver_1', version_number: 1, slug: 'app',
      artifact_sha256: RUNNING, image: null, run_command: 'node server.js', port, env: {},
      health: { ...DEFAULT_HEALTH_CHECK, interval_ms: 100 }, resources: DEFAULT_RESOURCES, crash_loop_budget: 5, desired: 'running',
      drain_timeout_ms: 1000, fail_fast: false, restart_count: 0,
    });
    agent = await startAgent({
      serverUrl: 'http://unused', token: 'unused', stateDir: dir, driver: standInDriver(host), client, pollMs: 1000,
      log: (m) => void scene.logs.push(m),
      releaseSweep: { graceMs: GRACE_MS, everyMs: 20, now: () => clock.ms, onPass: () => void passes.n++ },
    });
    await waitFor(() => client.healthy, { description: 'the adopted instance healthy' });
    await body(scene);
  } finally {
    await agent?.close();
    await new Promise((resolve) => app.close(resolve));
    await removeDir(dir);
  }
}

const removals = (logs: string[]) => logs.filter((m) => m.startsWith('removed '));

test('the agent removes a release no instance uses once the grace is over, and keeps the running instance\'s', async () => {
  await withAgent(() => {}, async (scene) => {
    await scene.twoMorePasses();
    assert.deepEqual(removals(scene.logs), [], 'within the grace every release stays');
    assert.ok(await scene.exists(STOPPED));
    scene.passGrace();
    await scene.twoMorePasses();
    assert.deepEqual(removals(scene.logs), ['removed 2 unused release(s)']);
    assert.equal(await scene.exists(STOPPED), false, 'the unused release went');
    assert.ok((await stat(join(scene.dir, 'releases', RUNNING, 'server.js'))).isFile(), 'the running instance keeps its release');
  });
});

test('a release that an instance started by another agent on the same host runs from stays', async () => {
  await withAgent(() => {}, async (scene) => {
    // Another agent process on the same state directory starts an instance from OTHER.
    const otherAgent = claimingReleases(standInDriver(scene.host), new ReleaseClaims(join(scene.dir, 'instance-releases')));
    await otherAgent.start({
      id: 'rti_other', release: { kind: 'tree', appDir: join(scene.dir, 'releases', OTHER) }, runCommand: 'node server.js',
      port: scene.host.port, env: {}, resources: DEFAULT_RESOURCES, logPath: join(scene.dir, 'other.log'),
    });
    scene.passGrace();
    await scene.twoMorePasses();
    assert.equal(await scene.exists(STOPPED), false, 'a sweep ran and removed the unused release');
    assert.ok(await scene.exists(OTHER), "the other agent's instance keeps its release");
    assert.ok(await scene.exists(RUNNING));
  });
});

test('while an instance whose stop failed runs from a release no agent recorded, no release is removed', async () => {
  await withAgent((scene) => {
    // Left by an agent that recorded no releases; the server no longer assigns it; its stop fails.
    scene.host.listed.push({ id: 'rti_orphan', address: `127.0.0.1:${scene.host.port}`, port: scene.host.port, startedAt: Date.now(), data: { driver: 'fake' } });
    scene.host.stopFails = true;
  }, async (scene) => {
    await waitFor(() => scene.logs.includes('stop failed'), { description: "the orphan's stop to fail" });
    scene.passGrace();
    await scene.twoMorePasses();
    assert.ok(await scene.exists(STOPPED) && await scene.exists(OTHER), 'nothing removed while it may run from either');
    assert.equal(scene.logs.filter((m) => m.includes('no agent recorded')).length, 1, 'said once');
    scene.host.stopped.add('rti_orphan');
    // The first sweep that runs sees the releases first: their grace starts then.
    await scene.twoMorePasses();
    scene.passGrace();
    await scene.twoMorePasses();
    assert.equal(await scene.exists(STOPPED), false, 'once it stopped, the sweep goes on');
  });
});

test('an agent does not sweep while another agent on the same state directory holds the sweep lock', async () => {
  // The other agent is a real process whose pid is in the lock file.
  const other = spawn('sleep', ['300'], { stdio: 'ignore' });
  try {
    await withAgent(async (scene) => {
      await writeFile(join(scene.dir, 'releases.lock'), `${other.pid}\n`);
    }, async (scene) => {
      scene.passGrace();
      await scene.twoMorePasses();
      assert.ok(await scene.exists(STOPPED), 'nothing removed while the other agent sweeps');
      assert.equal(scene.logs.filter((m) => m.includes('this one does not')).length, 1, 'said once');
      const exited = once(other, 'exit');
      other.kill('SIGKILL');
      await exited;
      await scene.twoMorePasses();
      scene.passGrace();
      await scene.twoMorePasses();
      assert.equal(await scene.exists(STOPPED), false, 'the lock of a gone agent is taken over');
    });
  } finally {
    if (other.exitCode === null && other.signalCode === null) other.kill('SIGKILL');
  }
});
