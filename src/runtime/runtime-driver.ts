/**
 * The interface between the agent and whatever actually runs instances on a host. The agent
 * (health checks, restarts, drain, reports, log shipping) knows only this; the start-up wiring
 * picks the driver once. Implementations: `local/` (sandboxed processes on this host) and
 * `docker/` (containers on a Slipway-owned Docker engine, for image releases).
 *
 * Host-independent on purpose: nothing here assumes the instance is a process the agent can see.
 * The agent never reads `/proc`, never signals a pid and never opens a path a driver did not
 * give it; every such fact (is it alive, which ports it listens on, how many connections it
 * holds, how it ended) is asked of the driver, asynchronously, so a driver can answer from a
 * container engine's API over a socket as well as from the local kernel. What a handle means is
 * the driver's business: it keeps its own facts (pid, container id, namespace…) in
 * {@link InstanceHandle.data}.
 *
 * Every implementation runs the shared suite in
 * `test/support/runtime/runtime-driver.conformance.ts`; a new driver is done when that suite
 * passes against it.
 */
import type { ResourceSpec } from '../core/runtime.js';

/** What a driver can promise; callers branch on these flags, never on the driver's name. */
export interface RuntimeCapabilities {
  /** Each instance has its own network namespace, reachable only from the host's edge. */
  isolatedNetwork: boolean;
  /** Each instance sees only its release (read-only), a private tmp and system runtimes. */
  sandboxedFilesystem: boolean;
  /** Memory, CPU and pids limits are enforced (an instance over its memory is killed). */
  resourceLimits: boolean;
  /** Why {@link resourceLimits} is false, in words for the operator; null when it is true. */
  resourceLimitsReason: string | null;
  /** Each instance runs as its own unprivileged uid. */
  ownUser: boolean;
  /** Can run {@link ImageRelease}s (images built from a Dockerfile); false: only {@link TreeRelease}s. */
  containerImages: boolean;
}

/** The kinds of release a driver may be asked to run. */
export const RELEASE_KINDS = ['tree', 'image'] as const;
export type ReleaseKind = (typeof RELEASE_KINDS)[number];

/**
 * A release as an unpacked file tree on the agent's host (the agent's release store made it).
 * The instance sees it read-only as its working directory and runs `runCommand` in it; how the
 * tree reaches the instance (a bind mount, a copy into a volume, a build context) is the driver's
 * choice.
 */
export interface TreeRelease {
  kind: 'tree';
  /** Absolute path on the agent's host; immutable while any instance of it exists. */
  appDir: string;
}

/**
 * A release as a container image the driver's engine can run (built from a Dockerfile). Only
 * drivers with {@link RuntimeCapabilities.containerImages} accept it; others refuse it with
 * `unavailable`. `runCommand` then replaces the image's command when it is not empty.
 */
export interface ImageRelease {
  kind: 'image';
  /** An image reference the engine resolves (`slipway/app@sha256:…`, a local image id…). */
  image: string;
}

/** What to run: a description the driver resolves, never a path the agent assumes it can use. */
export type InstanceRelease = TreeRelease | ImageRelease;

/** Everything needed to start one instance. */
export interface StartInstanceSpec {
  /** The runtime instance id (`rti_…`); names everything the driver creates for it. */
  id: string;
  release: InstanceRelease;
  /** Run by `/bin/sh -c` inside the instance (for an image: empty means the image's own command). */
  runCommand: string;
  /**
   * The port the app should listen on; it gets it as `PORT`. A driver may choose another (the
   * local driver's plain mode picks a free loopback port): the one it chose is
   * {@link InstanceHandle.port}, and `PORT` is always that one.
   */
  port: number;
  /** The app's whole environment (the driver adds nothing but `HOME`/`TMPDIR` if missing, and `PORT`). */
  env: Record<string, string>;
  resources: ResourceSpec;
  /**
   * A file on the agent's host where the driver keeps appending the instance's stdout and
   * stderr, interleaved, for as long as the instance exists, including while no agent runs (so
   * nothing is lost across an agent restart). The agent only reads this file (log shipping, the
   * tail of a failure) and may truncate it once shipped: a driver appends, never rewrites. The
   * local driver hands it to the process as its stdout/stderr; a driver whose instances run on
   * an engine copies the engine's log stream into it, and resumes copying (from the last line it
   * copied) for the handles {@link RuntimeDriver.list} returns after a restart.
   */
  logPath: string;
}

/** A started (or re-adopted) instance. Plain data: it is persisted and read back. */
export interface InstanceHandle {
  id: string;
  /** Where the edge (on this host) reaches the app: `host:port`. */
  address: string;
  /**
   * The port the app was told to listen on (its `PORT`), as the app sees it. With a port
   * mapping it differs from {@link address}'s port; {@link RuntimeDriver.listeningPorts} answers
   * in the same terms, so the two compare.
   */
  port: number;
  /** Epoch ms. */
  startedAt: number;
  /**
   * Driver-private facts needed to check, stop and clean it up (pid, namespace, cgroup, uid,
   * container id…). JSON only: it is persisted. Only the driver that made it reads it.
   */
  data: Record<string, unknown>;
}

/** How an instance ended, as far as the driver can tell. */
export interface InstanceExit {
  /** True when the kernel killed it for exceeding its memory limit. */
  oomKilled: boolean;
  /** Exit code of the instance's top process when the driver knows it; null otherwise. */
  exitCode: number | null;
  signal: string | null;
}

/**
 * Runs instances on one host. Every method is asynchronous and takes plain data, so an
 * implementation may talk to a local kernel or a remote engine. Methods other than `start`
 * accept handles made by an earlier incarnation of the driver (read back from {@link list}).
 */
export interface RuntimeDriver {
  readonly name: string;
  readonly capabilities: RuntimeCapabilities;
  /**
   * What the driver promises the instance of `handle`, when that differs between instances (a
   * driver in front of others answers with the one that runs it); absent, every instance gets
   * {@link capabilities}. Synchronous and cheap: it reads the handle, never the host.
   */
  capabilitiesOf?(handle: InstanceHandle): RuntimeCapabilities;
  /**
   * Host-wide setup, idempotent, before the first start: e.g. the blackhole route covering
   * every instance address and the firewall table. Throws a clear error when a required tool
   * is missing.
   */
  prepare(): Promise<void>;
  /**
   * Starts an instance; resolves once it exists (not once it listens), already persisted so
   * {@link list} returns it. A release kind the driver cannot run is refused with `unavailable`.
   */
  start(spec: StartInstanceSpec): Promise<InstanceHandle>;
  /**
   * True while any process of the instance is alive. Called every ~100 ms per instance by the
   * agent: keep it cheap (the local driver reads a cgroup file; an engine driver should answer
   * from state it keeps current from the engine's event stream rather than one request per call).
   */
  isRunning(handle: InstanceHandle): Promise<boolean>;
  /**
   * TCP ports the instance's processes listen on, sorted, in the app's own terms (comparable
   * with {@link InstanceHandle.port}). Empty when none, or when the instance is gone. Called at
   * each refused health check while an instance starts (every `health_interval_ms`), to tell
   * "listens on the wrong port" from "does not listen yet"; the local driver spends ~8 ms of CPU
   * on it (reading /proc/net/tcp), fine at that rate, too much for every 100 ms.
   */
  listeningPorts(handle: InstanceHandle): Promise<number[]>;
  /**
   * Established TCP connections to the instance's {@link InstanceHandle.port}: draining is done
   * at 0. Null when the driver cannot tell (the agent then waits out the drain timeout).
   */
  connectionCount(handle: InstanceHandle): Promise<number | null>;
  /** Facts about an instance whose processes are gone (call before {@link remove}). */
  exitInfo(handle: InstanceHandle): Promise<InstanceExit>;
  /** SIGTERM to the instance, SIGKILL to everything left after `graceMs`; then {@link remove}. */
  stop(handle: InstanceHandle, graceMs: number): Promise<void>;
  /**
   * Frees what the instance held (namespace, interfaces, cgroup, container, saved handle),
   * killing whatever still runs. Idempotent. Leaves {@link StartInstanceSpec.logPath} alone:
   * the agent still ships it.
   */
  remove(handle: InstanceHandle): Promise<void>;
  /**
   * Handles of instances this driver (or an earlier run of it on the same state) created that
   * still exist, running or exited, for re-adoption after an agent restart.
   */
  list(): Promise<InstanceHandle[]>;
  /**
   * Stops every instance and removes every host-wide thing `prepare` created. Only for a full
   * shutdown of the host's platform (`slipway up` exiting, tests), never for an agent restart.
   */
  destroyAll(): Promise<void>;
}
