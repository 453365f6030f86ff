/**
 * One log copier per instance (see `container-logs.ts`): the docker driver's instances write to
 * the engine, and the agent reads `logPath`, so something must keep copying from one to the
 * other for as long as the instance exists. A copier ends by itself when the container's output
 * ends (it exited); the driver waits for that before it calls an instance ended, so everything
 * the instance printed is in `logPath` by the time the agent looks.
 */
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSlipwayError } from '../../core/errors.js';
import type { EngineApi } from './engine-api.js';
import { copyContainerLogs } from './container-logs.js';

/** The running copiers of one driver object. */
export interface LogCopiers {
  /** Starts copying instance `id`'s output, unless a copier for it is still running. */
  ensure(id: string, containerId: string, logPath: string): void;
  /** Resolves once `id`'s copier has copied everything (its container's output ended), or after `timeoutMs`. */
  drain(id: string, timeoutMs: number): Promise<void>;
  /** Stops `id`'s copier and forgets its cursor (the instance is removed). */
  forget(id: string): Promise<void>;
  /** Stops every copier; their cursors stay, so copiers started later resume where these stopped. */
  stopAll(): void;
}

interface Copier {
  abort: AbortController;
  done: Promise<void>;
  finished: boolean;
  /** A drain already waited its whole timeout: later ones do not wait again for a stuck copier. */
  overdue: boolean;
}

/** Copiers whose cursor files live in `dir`. */
export function createLogCopiers(api: EngineApi, dir: string): LogCopiers {
  const copiers = new Map<string, Copier>();
  const cursorPath = (id: string): string => join(dir, `${id}.cursor`);

  async function run(id: string, target: { containerId: string; logPath: string }, abort: AbortController): Promise<void> {
    const { containerId, logPath } = target;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await mkdir(dirname(logPath), { recursive: true });
      await copyContainerLogs(api, { containerId, logPath, cursorPath: cursorPath(id), signal: abort.signal });
    } catch (err) {
      // A container removed meanwhile has nothing more to copy. Anything else stops this copy:
      // said in the log itself, where whoever reads the instance's output will see it.
      if (abort.signal.aborted || isSlipwayError(err, 'not_found')) return;
      await appendFile(logPath, `[slipway] copying this instance's output from the engine stopped: ${(err as Error).message}\n`).catch(() => {
        // The log file itself is unwritable: there is nowhere left to say it.
      });
    }
  }

  return {
    ensure(id, containerId, logPath) {
      const existing = copiers.get(id);
      if (existing && !existing.finished) return;
      const abort = new AbortController();
      const copier: Copier = { abort, done: Promise.resolve(), finished: false, overdue: false };
      copier.done = run(id, { containerId, logPath }, abort).finally(() => {
        copier.finished = true;
      });
      copiers.set(id, copier);
    },
    async drain(id, timeoutMs) {
      const copier = copiers.get(id);
      if (!copier || copier.finished || copier.overdue) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          copier.overdue = true;
          resolve();
        }, timeoutMs);
      });
      await Promise.race([copier.done, late]);
      clearTimeout(timer);
    },
    async forget(id) {
      const copier = copiers.get(id);
      copiers.delete(id);
      copier?.abort.abort();
      await copier?.done;
      await rm(cursorPath(id), { force: true });
    },
    stopAll() {
      for (const copier of copiers.values()) copier.abort.abort();
      copiers.clear();
    },
  };
}
