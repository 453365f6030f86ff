/**
 * `slipway agent`: owns the runtime instances of one host. It long-polls the server for the
 * host's assignments, keeps one {@link InstanceSupervisor} per instance, and reports what
 * happens. Instances are processes outside the agent: when the agent stops (restart, upgrade)
 * they keep running, and the next agent re-adopts them from the driver's saved handles.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { InstanceAssignment } from '../core/runtime.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import type { InstanceHandle, RuntimeDriver } from '../runtime/runtime-driver.js';
import { createControlPlaneClient, type ControlPlaneClient } from './control-plane-client.js';
import { ImageStore } from './image-store.js';
import { InstanceSupervisor } from './instance-supervisor.js';
import { LogShipper } from './log-shipper.js';
import { claimingReleases, NO_TREE, ReleaseClaims } from './release-claims.js';
import { createReleaseResolver } from './release-resolver.js';
import { ReleaseStore, type ReleaseSweepOptions } from './release-store.js';
import { defaultStartConcurrency, limitStarts } from './start-limit.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { acquirePidLock, type PidLock } from '../util/pid-lock.js';

/** Records of instances no driver lists are kept this long: a start may not be listed yet. */
const CLAIM_PRUNE_AGE_MS = 60 * 60_000;

/** Options for {@link startAgent}. */
export interface AgentOptions {
  serverUrl: string;
  token: string;
  /** This host's id in assignments (the embedded preset has one host, `local`). */
  hostId?: string;
  /**
   * Holds `releases/`, `instance-releases/` (which release each instance runs from),
   * `releases.lock` (held by the one agent that sweeps `releases/`), `images/` (temporary files
   * of image loads) and `logs/`.
   */
  stateDir: string;
  driver: RuntimeDriver;
  /**
   * This host's Docker engine (SLIPWAY_RUNTIME_DRIVER=docker): a release built from a Dockerfile
   * is made sure to be on it (loaded from its blob when missing) before `driver` starts it.
   * Without it such an assignment fails with `unavailable`.
   */
  docker?: EngineApi;
  /**
   * Most instance starts in flight at once (SLIPWAY_AGENT_START_CONCURRENCY); default twice
   * the cores. Assignments are all started at once and queue here, in order.
   */
  startConcurrency?: number;
  /** Long-poll wait per request (default 25 s). */
  pollMs?: number;
  log?: (message: string, data?: Record<string, unknown>) => void;
  /** Replaces the HTTP client (tests). */
  client?: ControlPlaneClient;
  /** How unpacked releases no instance uses are removed (release-sweep.ts); defaults there. */
  releaseSweep?: ReleaseSweepOptions & {
    /** How often `releases/` is swept; default 1 min. */
    everyMs?: number;
    /** Called after each sweep pass, also one that removed nothing or was skipped (tests). */
    onPass?: () => void;
  };
}

/** A running agent. */
export interface RunningAgent {
  /** True while the last assignment poll succeeded. */
  readonly connected: boolean;
  /** Ids of the instances being supervised. */
  instanceIds(): string[];
  /** Stops supervising; the instances keep running. */
  close(): Promise<void>;
}

/** Starts the agent: re-adopts what runs, then follows the server's assignments. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.log ?? ((m: string, d?: Record<string, unknown>) => console.log(`agent: ${m}${d ? ` ${JSON.stringify(d)}` : ''}`));
  const hostId = options.hostId ?? 'local';
  const client = options.client ?? createControlPlaneClient({ serverUrl: options.serverUrl, token: options.token, hostId });
  const logDir = join(options.stateDir, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const releases = new ReleaseStore(join(options.stateDir, 'releases'), client, options.releaseSweep);
  const images = options.docker === undefined ? null : new ImageStore(join(options.stateDir, 'images'), client, options.docker);
  const release = createReleaseResolver(releases, images);
  const startConcurrency = options.startConcurrency ?? defaultStartConcurrency();
  const claims = new ReleaseClaims(join(options.stateDir, 'instance-releases'));
  // Claimed inside the start limit, right before the driver's start, so a record is young
  // until its instance is listed (the prune below spares young records).
  const driver = limitStarts(claimingReleases(options.driver, claims), startConcurrency);
  await driver.prepare();
  // Instances left by an earlier agent, waiting for their assignment to be matched.
  const orphans = new Map<string, InstanceHandle>((await driver.list()).map((h) => [h.id, h]));
  if (orphans.size) log(`found ${orphans.size} instance(s) from an earlier run`);
  const supervisors = new Map<string, InstanceSupervisor>();
  const shippers = new Map<string, LogShipper>();
  const abort = new AbortController();
  let connected = false;
  // Until an assignment list has been applied, and while instances found running are not
  // matched to theirs, what the host runs is not known: no release may be removed then.
  let applied = false;
  // Instances the server no longer assigns whose stop failed: they may still run from a release.
  const unstopped = new Map<string, InstanceHandle>();

  // A driver that cannot tell yet (an engine's event stream being reopened) must not cost the
  // instance its supervisor: it is adopted, and the supervisor's own checks, which retry,
  // find out whether it runs.
  const stillRunning = (handle: InstanceHandle): Promise<boolean> => driver.isRunning(handle).catch((err: Error) => {
    log('could not tell whether a found instance runs; adopting it', { id: handle.id, err: err.message });
    return true;
  });

  const apply = async (assignments: InstanceAssignment[]) => {
    const wanted = new Set(assignments.map((a) => a.runtime_instance_id));
    // Found instances are checked, and dead ones removed, side by side before any supervisor
    // starts: after a reboot all of them are dead, and one by one their removals would hold
    // every start back behind them.
    const found = assignments.filter((a) => !supervisors.has(a.runtime_instance_id) && orphans.has(a.runtime_instance_id));
    const aliveById = new Map<string, boolean>();
    await mapConcurrent(found, startConcurrency, async (a) => {
      const handle = orphans.get(a.runtime_instance_id)!;
      const alive = await stillRunning(handle);
      if (!alive) await driver.remove(handle);
      aliveById.set(a.runtime_instance_id, alive);
    });
    for (const a of assignments) {
      const existing = supervisors.get(a.runtime_instance_id);
      if (existing) {
        existing.update(a);
        continue;
      }
      // The orphan leaves the map only once its supervisor exists: should this pass throw
      // first, the next one still finds it, instead of starting a copy beside it (which the
      // docker driver's fixed container name refuses forever while the old one runs unwatched).
      const adopted = orphans.get(a.runtime_instance_id) ?? null;
      const alive = adopted !== null && aliveById.get(a.runtime_instance_id) === true;
      const sup = new InstanceSupervisor(a, {
        driver, release, report: (r) => client.report(r), logDir, log,
      }, alive ? adopted : null);
      supervisors.set(a.runtime_instance_id, sup);
      orphans.delete(a.runtime_instance_id);
      // An adopted instance may predate the claims: record its release for other agents' sweeps.
      if (alive) {
        await claims.claim(a.runtime_instance_id, a.image ? NO_TREE : a.artifact_sha256).catch((err: Error) => log('could not record an instance\'s release', { id: a.runtime_instance_id, err: err.message }));
      }
      const shipper = new LogShipper({
        logPath: join(logDir, `${a.runtime_instance_id}.log`), ship: (lines) => client.shipLogs(a.runtime_instance_id, lines),
      });
      shippers.set(a.runtime_instance_id, shipper);
      void sup.done.then(async () => {
        if (supervisors.get(a.runtime_instance_id) === sup) supervisors.delete(a.runtime_instance_id);
        if (abort.signal.aborted) return;
        await shipper.finish();
        shippers.delete(a.runtime_instance_id);
        await rm(join(logDir, `${a.runtime_instance_id}.log`), { force: true });
      });
      sup.start();
      shipper.start();
    }
    // What the server no longer lists was stopped or forgotten there: make it so here.
    for (const handle of orphans.values()) {
      log('stopping an instance the server no longer assigns', { id: handle.id });
      await driver.stop(handle, 5000).catch((err: Error) => {
        unstopped.set(handle.id, handle);
        log('stop failed', { id: handle.id, err: err.message });
      });
    }
    orphans.clear();
    for (const [id, sup] of supervisors) {
      if (!wanted.has(id)) sup.update({ ...sup.assignment, desired: 'stopped' });
    }
    applied = true;
  };

  // Another agent process may run on the same state directory (`slipway agent` beside `up`, or
  // an agent restarting while the old one stops): only the one holding this lock sweeps.
  const lockPath = join(options.stateDir, 'releases.lock');
  let sweepLock: PidLock | null = null;
  let lockRefusedNoted = false;
  const holdSweepLock = async (): Promise<boolean> => {
    if (sweepLock !== null) return true;
    try {
      sweepLock = await acquirePidLock(lockPath, `an agent sweeping ${join(options.stateDir, 'releases')}`);
      return true;
    } catch (err) {
      if (!(err instanceof SlipwayError) || err.code !== 'state_locked') throw err;
      if (!lockRefusedNoted) log('another agent on this state directory removes unused releases; this one does not', { lock: lockPath });
      lockRefusedNoted = true;
      return false;
    }
  };

  // Releases that running instances this agent does not supervise use (started by another
  // agent, or not stopped when the server stopped listing them); null when one of them runs
  // from a release no agent recorded: then none may be removed.
  const othersInUse = async (): Promise<Set<string> | null> => {
    const others = new Map(unstopped);
    const listed = await driver.list();
    for (const handle of listed) if (!supervisors.has(handle.id)) others.set(handle.id, handle);
    await claims.prune(new Set([...listed.map((h) => h.id), ...supervisors.keys(), ...unstopped.keys()]), CLAIM_PRUNE_AGE_MS);
    const shas = new Set<string>();
    for (const handle of others.values()) {
      if (supervisors.has(handle.id)) continue;
      // One the driver cannot tell about counts as running.
      if (!(await driver.isRunning(handle).catch(() => true))) {
        unstopped.delete(handle.id);
        continue;
      }
      const sha = await claims.releaseOf(handle.id);
      if (sha === null) return null;
      if (sha !== NO_TREE) shas.add(sha);
    }
    return shas;
  };

  let unknownNoted = false;
  const sweep = async () => {
    if (!applied || orphans.size > 0 || !(await holdSweepLock())) return;
    const others = await othersInUse();
    if (others === null) {
      if (!unknownNoted) log('an instance runs from a release no agent recorded; unused releases are kept until it stops');
      unknownNoted = true;
      return;
    }
    unknownNoted = false;
    // A supervisor exists before its start asks for the release, and stays until its instance
    // is gone: with the others', the releases this host runs or starts.
    const inUse = () => {
      const shas = new Set(others);
      for (const sup of supervisors.values()) shas.add(sup.assignment.artifact_sha256);
      return shas;
    };
    const r = await releases.sweep(inUse);
    if (r.removed.length > 0) log(`removed ${r.removed.length} unused release(s)`, { kept_unused: r.keptUnused });
  };
  let sweeping: Promise<void> | null = null;
  const sweepTimer = setInterval(() => {
    sweeping ??= sweep()
      .catch((err: Error) => log('could not remove unused releases', { err: err.message }))
      .finally(() => {
        sweeping = null;
        options.releaseSweep?.onPass?.();
      });
  }, options.releaseSweep?.everyMs ?? 60_000);
  sweepTimer.unref();

  const loop = async () => {
    let revision: string | undefined;
    let delay = 200;
    while (!abort.signal.aborted) {
      try {
        const page = await client.assignments(revision, options.pollMs ?? 25_000, abort.signal);
        if (!connected) log('connected to the server');
        connected = true;
        delay = 200;
        if (page.revision !== revision) await apply(page.assignments);
        revision = page.revision;
      } catch (err) {
        if (abort.signal.aborted) return;
        if (connected) log(`lost the server (${(err as Error).message}); running instances keep running`);
        connected = false;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  };
  const running = loop();

  return {
    get connected() {
      return connected;
    },
    instanceIds: () => [...supervisors.keys()],
    close: async () => {
      abort.abort();
      clearInterval(sweepTimer);
      await running;
      await sweeping;
      await sweepLock?.release();
      for (const sup of supervisors.values()) sup.detach();
      for (const shipper of shippers.values()) shipper.detach();
    },
  };
}
