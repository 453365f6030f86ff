import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { EdgeLogger } from './logger.js';
import { journalPath, routeStatePath, snapshotPath, type RouteChange, type RouteState, type SnapshotHeader } from './route-state.js';

/** Options for {@link createRouteJournal}. */
export interface RouteJournalConfig {
  stateDir: string;
  logger: EdgeLogger;
  /**
   * The table being served now, read in one synchronous step when a compaction starts: it must
   * include every change {@link RouteJournal.append} was given until then, and no other.
   */
  current(): RouteState;
  /** Where the state read at start left the files (route-state.ts); absent for an empty edge. */
  start?: { seq: number; journalBytes: number; needsCompaction: boolean };
  /** The journal is compacted once it is larger than this and than the snapshot; default 1 MiB. */
  minCompactBytes?: number;
}

/** Persists the edge's served table as a snapshot plus a journal of changes. */
export interface RouteJournal {
  /** Queues one change for the journal (numbered here); written and fsynced in the background. */
  append(change: Omit<RouteChange, 'seq'>): void;
  /** Asks for a snapshot of {@link RouteJournalConfig.current} that replaces the journal. */
  compact(): void;
  /** Resolves once everything appended so far is on disk (or failed and was logged). */
  flush(): Promise<void>;
  /** Flushes, then closes the journal file. */
  close(): Promise<void>;
}

/** Routes serialized per slice of a snapshot: small enough that one slice never blocks requests for long. */
const SNAPSHOT_SLICE = 200;

/**
 * A journal with compaction (docs/architecture.md §7: the edge serves its last table without the
 * server). Each change appends one line and fsyncs, with changes queued during a write batched
 * into the next one, so a change costs what it names, not the table. When the journal outgrows
 * the snapshot (and {@link RouteJournalConfig.minCompactBytes}), the table is written to a new
 * snapshot (temp file, fsync, rename) that records the last line it covers, and only then is
 * the journal emptied: a crash between the two leaves lines the reader skips. Writes never
 * overlap.
 */
export function createRouteJournal(config: RouteJournalConfig): RouteJournal {
  const { logger, stateDir } = config;
  const minCompactBytes = config.minCompactBytes ?? 1024 * 1024;
  let seq = config.start?.seq ?? 0;
  let queued: string[] = [];
  let compactWanted = config.start?.needsCompaction ?? false;
  let journalBytes = config.start?.journalBytes ?? 0;
  let snapshotBytes = 0;
  let handle: FileHandle | null = null;
  let running: Promise<void> | null = null;

  const openJournal = async (): Promise<FileHandle> => {
    if (handle !== null) return handle;
    await mkdir(stateDir, { recursive: true });
    const opened = await open(journalPath(stateDir), 'a', 0o644);
    // A torn line left by a crash would hide every line appended after it.
    if ((await opened.stat()).size !== journalBytes) await opened.truncate(journalBytes);
    handle = opened;
    return opened;
  };

  const writeSnapshot = async (state: RouteState, at: number): Promise<number> => {
    await mkdir(stateDir, { recursive: true });
    const path = snapshotPath(stateDir);
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const out = await open(temp, 'w', 0o644);
    let bytes = 0;
    try {
      const header: SnapshotHeader = { format: 'slipway-routes/1', revision: state.revision, seq: at, routes: state.routes.length };
      let chunk = `${JSON.stringify(header)}\n`;
      for (let i = 0; i < state.routes.length; i += SNAPSHOT_SLICE) {
        for (const route of state.routes.slice(i, i + SNAPSHOT_SLICE)) chunk += `${JSON.stringify(route)}\n`;
        // Each write is a turn of the event loop: requests run between slices.
        const { bytesWritten } = await out.write(chunk);
        bytes += bytesWritten;
        chunk = '';
      }
      if (chunk !== '') bytes += (await out.write(chunk)).bytesWritten;
      // Without the flush a crash after the rename could leave an empty snapshot.
      await out.sync();
    } catch (err) {
      await out.close();
      await rm(temp, { force: true });
      throw err;
    }
    await out.close();
    await rename(temp, path).catch(async (err: unknown) => {
      await rm(temp, { force: true });
      throw err;
    });
    return bytes;
  };

  const compactNow = async (): Promise<void> => {
    compactWanted = false;
    // One synchronous step: the table and the numbering agree, and queued lines are covered.
    const state = config.current();
    const at = seq;
    queued = [];
    snapshotBytes = await writeSnapshot(state, at);
    const journal = await openJournal();
    await journal.truncate(0);
    await journal.sync();
    journalBytes = 0;
    // The snapshot has the old file's routes now.
    await rm(routeStatePath(stateDir), { force: true });
  };

  const appendNow = async (): Promise<void> => {
    const data = queued.join('');
    queued = [];
    const journal = await openJournal();
    await journal.write(data);
    await journal.datasync();
    journalBytes += Buffer.byteLength(data);
    if (journalBytes > Math.max(minCompactBytes, snapshotBytes)) compactWanted = true;
  };

  const drain = async (): Promise<void> => {
    while (compactWanted || queued.length > 0) {
      try {
        await (compactWanted ? compactNow() : appendNow());
      } catch (err) {
        // Lines may be lost, and later ones would then follow a gap: write the whole table next.
        logger.error({ err, path: journalPath(stateDir) }, 'could not save the route table');
        await handle?.close().catch(() => undefined);
        handle = null;
        journalBytes = 0;
        compactWanted = true;
        return;
      }
    }
  };

  const kick = (): void => {
    if (running !== null || (!compactWanted && queued.length === 0)) return;
    running = drain().finally(() => {
      running = null;
      // Anything queued after the loop's last check, unless the last write failed (the next
      // change retries, so a full disk does not spin).
      if (queued.length > 0 && handle !== null) kick();
    });
  };

  return {
    append(change) {
      seq += 1;
      queued.push(`${JSON.stringify({ seq, revision: change.revision, upsert: change.upsert, remove: change.remove })}\n`);
      kick();
    },
    compact() {
      compactWanted = true;
      kick();
    },
    async flush() {
      kick();
      while (running !== null) await running;
    },
    async close() {
      await this.flush();
      await handle?.close();
      handle = null;
    },
  };
}
