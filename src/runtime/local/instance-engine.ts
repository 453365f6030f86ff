/**
 * The two ways the local driver runs an instance (isolated sandbox, plain process) behind one
 * internal shape, so the driver's lifecycle (stop = terminate, wait, kill, release) is written
 * once and each mode only says how its steps are done.
 */
import type { InstanceHandle, StartInstanceSpec } from '../runtime-driver.js';

/** How a handle's instance runs; stored in `handle.data.mode`. */
export const INSTANCE_MODES = ['isolated', 'process'] as const;
export type InstanceMode = (typeof INSTANCE_MODES)[number];

/** Reports a child's exit to the driver (only for children of this process). */
export type ExitListener = (id: string, code: number | null, signal: NodeJS.Signals | null) => void;

/** One mode's implementation of the instance lifecycle. */
export interface InstanceEngine {
  readonly mode: InstanceMode;
  /** Host-wide setup; idempotent. */
  prepare(): Promise<void>;
  /** Starts the instance and returns its (not yet persisted) handle. */
  start(spec: StartInstanceSpec, onExit: ExitListener): Promise<InstanceHandle>;
  isRunning(handle: InstanceHandle): boolean;
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
