import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Route } from '../core/routes.js';
import { writeFileAtomic } from './atomic-write.js';
import type { EdgeLogger } from './logger.js';
import { isRoute } from './route-message.js';

/** What the edge keeps on disk to serve without the server: the routes it was serving. */
export interface RouteState {
  revision: number;
  routes: Route[];
}

/** `<stateDir>/routes.json`. */
export function routeStatePath(stateDir: string): string {
  return join(stateDir, 'routes.json');
}

/**
 * Reads `<stateDir>/routes.json`; null when there is none. A file that does not parse or has
 * malformed routes is logged and ignored: starting empty beats refusing to start, and the
 * server's snapshot replaces it on connect.
 */
export async function readRouteState(stateDir: string, logger: EdgeLogger): Promise<RouteState | null> {
  let text: string;
  try {
    text = await readFile(routeStatePath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const state = JSON.parse(text) as Partial<RouteState>;
    if (Number.isSafeInteger(state.revision) && Array.isArray(state.routes) && state.routes.every(isRoute)) {
      return { revision: state.revision as number, routes: state.routes };
    }
  } catch {
    // fall through to the warning below
  }
  logger.warn({ path: routeStatePath(stateDir) }, 'ignoring unreadable routes.json');
  return null;
}

/** Saves route state in the background, newest wins. */
export interface RouteStateWriter {
  /** Schedules `state` to be written; writes already queued for older states are skipped. */
  save(state: RouteState): void;
  /** Resolves once every state passed to `save` so far is on disk (or failed and was logged). */
  flush(): Promise<void>;
}

/**
 * Writes routes.json atomically (temp + rename) after each change. Writes never overlap, and
 * a burst of changes costs one write for the newest state rather than one per change.
 */
export function createRouteStateWriter(stateDir: string, logger: EdgeLogger): RouteStateWriter {
  let next: RouteState | null = null;
  let running: Promise<void> | null = null;

  const drain = async (): Promise<void> => {
    await mkdir(stateDir, { recursive: true });
    while (next !== null) {
      const state = next;
      next = null;
      try {
        await writeFileAtomic(routeStatePath(stateDir), JSON.stringify(state));
      } catch (err) {
        logger.error({ err, path: routeStatePath(stateDir) }, 'could not write routes.json');
      }
    }
  };

  const kick = (): void => {
    if (running !== null || next === null) return;
    running = drain()
      .catch((err: unknown) => logger.error({ err }, 'could not write routes.json'))
      .finally(() => {
        running = null;
        // A save that landed after the loop's last check but before this point.
        kick();
      });
  };

  return {
    save(state) {
      next = state;
      kick();
    },
    async flush() {
      while (running !== null) await running;
    },
  };
}
