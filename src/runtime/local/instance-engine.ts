/**
 * The two ways the local driver runs an instance (isolated sandbox, plain process) behind one
 * internal shape, so the driver's lifecycle (stop = terminate, wait, kill, release) is written
 * once and each mode only says how its steps are done.
 */
import { SlipwayError } from '../../core/errors.js';
import type { InstanceHandle, StartInstanceSpec } from '../runtime-driver.js';

/** How a handle's instance runs; stored in `handle.data.mode`. */
export const INSTANCE_MODES = ['isolated', 'process'] as const;
export type InstanceMode = (typeof INSTANCE_MODES)[number];

/** Reports a child's exit to the driver (only for children of this process). */
export type ExitListener = (id: string, code: number | null, signal: NodeJS.Signals | null) => void;

/** A start as an engine sees it: the driver has already resolved the release to a tree. */
export interface EngineStartSpec extends Omit<StartInstanceSpec, 'release'> {
  /** The release tree on this host. */
  appDir: string;
}

/** One mode's implementation of the instance lifecycle. */
export interface InstanceEngine {
  readonly mode: InstanceMode;
  /** Host-wide setup; idempotent. */
  prepare(): Promise<void>;
  /** Starts the instance and returns its (not yet persisted) handle; `data.pid` is its top process. */
  start(spec: EngineStartSpec, onExit: ExitListener): Promise<InstanceHandle>;
  isRunning(handle: InstanceHandle): boolean;
  /**
   * Pids of the instance's live processes, the top one first when it is alive (its network
   * namespace is the instance's). Empty once it is gone.
   */
  members(handle: InstanceHandle): number[];
  oomKilled(handle: InstanceHandle): Promise<boolean>;
  /** Asks the instance to stop (SIGTERM); returns at once. */
  terminate(handle: InstanceHandle): void;
  /** SIGKILLs whatever is left and waits until it is gone. */
  kill(handle: InstanceHandle): Promise<void>;
  /** Frees what the instance held on the host (after {@link kill}); idempotent. */
  release(handle: InstanceHandle): Promise<void>;
  /** Removes every host object of this platform, handle or not (full shutdown). */
  sweep(): Promise<void>;
}

/** The host pid of a local handle's top process (kept in `data`, private to this driver). */
export function pidOf(handle: InstanceHandle): number {
  const pid = handle.data.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
    throw new SlipwayError('internal_error', `handle of ${handle.id} has no pid`, { details: { data: handle.data } });
  }
  return pid;
}
