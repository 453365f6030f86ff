/**
 * The interface between the agent and whatever actually runs instances on a host. The agent
 * (health checks, restarts, reports) knows only this; the start-up wiring picks the driver
 * once. Implementations: `local/` (sandboxed processes on this host).
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
  /** Can build and run images from a Dockerfile. */
  containerImages: boolean;
}

/** Everything needed to start one instance. */
export interface StartInstanceSpec {
  /** The runtime instance id (`rti_…`); names everything the driver creates for it. */
  id: string;
  /** The extracted app tree; the instance sees it read-only as its working directory. */
  appDir: string;
  /** Run by `/bin/sh -c` inside the sandbox. */
  runCommand: string;
  /** The port the app must listen on (it also gets `PORT`). */
  port: number;
  /** The app's whole environment (the driver adds nothing but `HOME`/`TMPDIR` if missing). */
  env: Record<string, string>;
  resources: ResourceSpec;
  /** stdout and stderr are appended to this file (so they survive an agent restart). */
  logPath: string;
}

/** A started (or re-adopted) instance. Plain data: it is persisted and read back. */
export interface InstanceHandle {
  id: string;
  /** Pid of the instance's top process as seen from the host. */
  pid: number;
  /** Where the edge (on this host) reaches the app: `host:port`. */
  address: string;
  /** Epoch ms. */
  startedAt: number;
  /** Driver-private facts needed to stop and clean it up (namespace, cgroup, uid…). */
  data: Record<string, unknown>;
}

/** How an instance ended, as far as the driver can tell. */
export interface InstanceExit {
  /** True when the kernel killed it for exceeding its memory limit. */
  oomKilled: boolean;
  /** Exit code of the top process when it was a child of this agent; null otherwise. */
  exitCode: number | null;
  signal: string | null;
}

/** Runs instances on one host. */
export interface RuntimeDriver {
  readonly name: string;
  readonly capabilities: RuntimeCapabilities;
  /**
   * Host-wide setup, idempotent, before the first start: e.g. the blackhole route covering
   * every instance address and the firewall table. Throws a clear error when a required tool
   * is missing.
   */
  prepare(): Promise<void>;
  /** Starts an instance; resolves once its process exists (not once it listens). */
  start(spec: StartInstanceSpec): Promise<InstanceHandle>;
  /** True while any process of the instance is alive. Cheap: called every ~100–250 ms. */
  isRunning(handle: InstanceHandle): boolean;
  /** Facts about an instance whose processes are gone (call before {@link remove}). */
  exitInfo(handle: InstanceHandle): Promise<InstanceExit>;
  /** SIGTERM to the instance, SIGKILL to everything left after `graceMs`; then {@link remove}. */
  stop(handle: InstanceHandle, graceMs: number): Promise<void>;
  /** Frees what the instance held (namespace, interfaces, cgroup, saved handle). Idempotent. */
  remove(handle: InstanceHandle): Promise<void>;
  /** Handles of instances this driver created that still exist, for re-adoption after a restart. */
  list(): Promise<InstanceHandle[]>;
  /**
   * Stops every instance and removes every host-wide thing `prepare` created. Only for a full
   * shutdown of the host's platform (`slipway up` exiting, tests), never for an agent restart.
   */
  destroyAll(): Promise<void>;
}
