import type { BuildSandbox } from './build-sandbox.js';

/** What every build takes, static or dynamic; each builder adds its own options. */
export interface BuildSettings {
  /** The frozen source (see `createSnapshot`). */
  snapshotPath: string;
  /** A private, empty scratch directory; each builder says what it keeps there. */
  workDir: string;
  /** The user's build command, run by `/bin/sh -c` in the source tree. */
  buildCommand?: string;
  /** For the whole build: every step together. */
  timeoutMs: number;
  /** Receives the build log line by line, including Slipway's own notes. */
  onLog: (chunk: string) => void;
  /** Most log bytes kept of each step (default 5 MB). */
  maxLogBytes?: number;
  /** The deployment's build-time environment; it overrides Slipway's defaults. */
  env?: Record<string, string>;
  /**
   * Run every step as this unprivileged user: the work dir is handed to it first. Used when
   * Slipway runs as root, so a build cannot read Slipway's keys, blobs or database.
   */
  user?: { uid: number; gid: number };
  /** Run every step in this namespace sandbox (see `build-sandbox.ts`). */
  sandbox?: BuildSandbox;
  /**
   * The build's own network namespace (`/run/netns/<netns>`, see `build-network.ts`); used
   * with a sandbox that has `net` and a `user`. Without it the build shares the host's network.
   */
  netns?: string;
  /** Aborting stops a running step at once. */
  signal?: AbortSignal;
}
