import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Route } from '../core/routes.js';
import type { EdgeLogger } from './logger.js';
import { isRoute } from './route-message.js';

/** What the edge keeps on disk to serve without the server: the routes it was serving. */
export interface RouteState {
  revision: number;
  routes: Route[];
}

/** One line of the journal: what one pass of the edge changed in its served table. */
export interface RouteChange {
  /** The edge's own counter, one per line: a snapshot covers every line up to its `seq`. */
  seq: number;
  /** The server's revision the table was at after this change. */
  revision: number;
  upsert: Route[];
  remove: string[];
}

/** {@link RouteState} as read at start, with where the journal stands. */
export interface LoadedRouteState extends RouteState {
  /** The last `seq` the state includes (the next line appended gets `seq + 1`). */
  seq: number;
  /** Bytes of the journal that parsed; anything after them (a torn line) is cut before appending. */
  journalBytes: number;
  /** The state came from an old `routes.json` or a torn journal: write a snapshot soon. */
  needsCompaction: boolean;
}

/** Every route the edge serves, one JSON line each after a header line (`routes-snapshot.ndjson`). */
export const snapshotPath = (stateDir: string): string => join(stateDir, 'routes-snapshot.ndjson');

/** The changes since the snapshot, one JSON line each (`routes-journal.ndjson`). */
export const journalPath = (stateDir: string): string => join(stateDir, 'routes-journal.ndjson');

/** The whole-table file of edges before the journal: read once at start, removed at the first compaction. */
export function routeStatePath(stateDir: string): string {
  return join(stateDir, 'routes.json');
}

/** The header line of a snapshot file. */
export interface SnapshotHeader {
  format: 'slipway-routes/1';
  revision: number;
  seq: number;
  routes: number;
}

/**
 * Reads the snapshot and replays the journal after it; falls back to an old `routes.json` when
 * there is no snapshot (an edge upgraded in place keeps serving). Null when there is nothing.
 * A state that does not parse is logged and ignored: starting empty beats refusing to start,
 * and the server's snapshot replaces it on connect. The journal is read up to its first line
 * that does not parse (a crash mid-append tears only the last one).
 */
export async function readRouteState(stateDir: string, logger: EdgeLogger): Promise<LoadedRouteState | null> {
  const snapshot = await readSnapshot(stateDir, logger);
  // Without its snapshot the journal's changes would apply to the wrong table.
  if (snapshot === 'unreadable') return null;
  const base = snapshot ?? (await readLegacy(stateDir, logger));
  const journal = await readOptional(journalPath(stateDir));
  if (base === null && journal === null) return null;
  const state = base ?? { revision: 0, seq: 0, routes: new Map<string, Route>(), needsCompaction: true };
  let offset = 0;
  let torn = false;
  while (journal !== null && offset < journal.length) {
    const end = journal.indexOf(0x0a, offset);
    const change = end === -1 ? null : parseChange(journal.toString('utf8', offset, end));
    if (change === null) {
      torn = true;
      break;
    }
    offset = end + 1;
    // Lines a snapshot already covers (a crash between its rename and the journal's truncation).
    if (change.seq <= state.seq) continue;
    // A gap means lines were lost: stop at the last state known whole.
    if (change.seq !== state.seq + 1) {
      torn = true;
      break;
    }
    for (const id of change.remove) state.routes.delete(id);
    for (const route of change.upsert) state.routes.set(route.deployment_id, route);
    state.revision = change.revision;
    state.seq = change.seq;
  }
  if (torn) logger.warn({ path: journalPath(stateDir), validBytes: offset }, 'route journal ends in a torn line; ignoring it');
  return {
    revision: state.revision, seq: state.seq, routes: [...state.routes.values()],
    journalBytes: offset, needsCompaction: state.needsCompaction || torn,
  };
}

interface BaseState {
  revision: number;
  seq: number;
  routes: Map<string, Route>;
  needsCompaction: boolean;
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function readSnapshot(stateDir: string, logger: EdgeLogger): Promise<BaseState | 'unreadable' | null> {
  const text = (await readOptional(snapshotPath(stateDir)))?.toString('utf8');
  if (text === undefined) return null;
  try {
    const lines = text.split('\n');
    const header = JSON.parse(lines[0] ?? '') as Partial<SnapshotHeader>;
    if (header.format === 'slipway-routes/1' && Number.isSafeInteger(header.revision) && Number.isSafeInteger(header.seq)) {
      const routes = new Map<string, Route>();
      for (let i = 1; i < lines.length; i++) {
        if (lines[i] === '') continue;
        const route = JSON.parse(lines[i]!) as unknown;
        if (!isRoute(route)) throw new Error('malformed route');
        routes.set(route.deployment_id, route);
      }
      if (routes.size === header.routes) return { revision: header.revision!, seq: header.seq!, routes, needsCompaction: false };
    }
  } catch {
    // fall through to the warning below
  }
  logger.warn({ path: snapshotPath(stateDir) }, 'ignoring an unreadable route snapshot and its journal');
  return 'unreadable';
}

async function readLegacy(stateDir: string, logger: EdgeLogger): Promise<BaseState | null> {
  const text = (await readOptional(routeStatePath(stateDir)))?.toString('utf8');
  if (text === undefined) return null;
  try {
    const state = JSON.parse(text) as Partial<RouteState>;
    if (Number.isSafeInteger(state.revision) && Array.isArray(state.routes) && state.routes.every(isRoute)) {
      return { revision: state.revision!, seq: 0, routes: new Map(state.routes.map((r) => [r.deployment_id, r])), needsCompaction: true };
    }
  } catch {
    // fall through to the warning below
  }
  logger.warn({ path: routeStatePath(stateDir) }, 'ignoring unreadable routes.json');
  return null;
}

function parseChange(line: string): RouteChange | null {
  try {
    const c = JSON.parse(line) as Partial<RouteChange>;
    const ok = Number.isSafeInteger(c.seq) && Number.isSafeInteger(c.revision) &&
      Array.isArray(c.upsert) && c.upsert.every(isRoute) &&
      Array.isArray(c.remove) && c.remove.every((id) => typeof id === 'string');
    return ok ? (c as RouteChange) : null;
  } catch {
    return null;
  }
}
