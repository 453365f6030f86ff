import { and, eq, lt } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { idempotencyKeys } from '../store/schema.js';
import type { Db } from '../store/store.js';
import type { Principal, ServiceContext } from './context.js';

/** An answer worth replaying. */
export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a replay waits for the first request to answer before giving up with 409. */
const WAIT_FOR_FIRST_MS = 30_000;
/**
 * A pending key older than this belongs to a request that died with its server; it may be
 * taken over. Uploads and snapshots finish well within it.
 */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;

/** Options for {@link runIdempotent}. */
export interface IdempotentRun {
  principal: Principal;
  key: string;
  /** sha256 of everything that makes two requests "the same" (route, options, body). */
  requestHash: string;
}

/**
 * Runs `work` at most once per (tenant, key). A second request with the same key and hash
 * gets the first answer (waiting for it if the first is still running); another hash is
 * `idempotency_key_reused`. If `work` throws, the key is released so the client can retry.
 */
export async function runIdempotent(
  db: Db,
  run: IdempotentRun,
  work: () => Promise<StoredAnswer>,
): Promise<StoredAnswer & { replayed: boolean }> {
  const deadline = Date.now() + WAIT_FOR_FIRST_MS;
  const where = and(eq(idempotencyKeys.tenantId, run.principal.tenantId), eq(idempotencyKeys.key, run.key));
  for (;;) {
    const claimed = await db
      .insert(idempotencyKeys)
      .values({ tenantId: run.principal.tenantId, key: run.key, requestHash: run.requestHash, state: 'pending', createdAt: new Date() })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (claimed.length === 1) break;
    const [row] = await db.select().from(idempotencyKeys).where(where).limit(1);
    if (!row) continue; // released between our insert and select: claim again
    const age = Date.now() - row.createdAt.getTime();
    if (age > IDEMPOTENCY_TTL_MS || (row.state === 'pending' && age > ABANDONED_AFTER_MS)) {
      await db.delete(idempotencyKeys).where(and(where, eq(idempotencyKeys.createdAt, row.createdAt)));
      continue;
    }
    if (row.requestHash !== run.requestHash) {
      throw new SlipwayError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request', { details: { idempotency_key: run.key } });
    }
    if (row.state === 'done') return { status: row.responseStatus ?? 200, body: row.responseBody, replayed: true };
    if (Date.now() > deadline) {
      throw new SlipwayError('idempotency_request_in_progress', 'the first request with this Idempotency-Key has not answered yet; retry later', { details: { idempotency_key: run.key } });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    const answer = await work();
    await db.update(idempotencyKeys).set({ state: 'done', responseStatus: answer.status, responseBody: answer.body }).where(where);
    return { ...answer, replayed: false };
  } catch (err) {
    await db.delete(idempotencyKeys).where(where);
    throw err;
  }
}

/** Forgets keys past their time; run periodically. Returns how many were removed. */
export async function sweepIdempotencyKeys(db: Db, now = Date.now()): Promise<number> {
  const removed = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now - IDEMPOTENCY_TTL_MS)))
    .returning({ key: idempotencyKeys.key });
  return removed.length;
}

/** {@link runIdempotent} over the service context's store, for the API. */
export class IdempotencyService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Runs `work` at most once per (tenant, key); see {@link runIdempotent}. */
  run(run: IdempotentRun, work: () => Promise<StoredAnswer>): Promise<StoredAnswer & { replayed: boolean }> {
    return runIdempotent(this.ctx.store.db, run, work);
  }
}
