import { and, desc, eq, gt, lt } from 'drizzle-orm';
import { newId } from '../core/ids.js';
import { events } from '../store/schema.js';
import { idCursor } from './page-cursor.js';
import type { Db, Tx } from '../store/store.js';

/** An event to record; `actor` is an API key id or `system`. */
export interface NewEvent {
  tenantId: string;
  deploymentId: string | null;
  versionId?: string | null;
  type: string;
  actor: string;
  reason: string;
  data?: Record<string, unknown>;
}

/**
 * Inserts an event inside the caller's transaction, so a state change and its event commit
 * together or not at all. Callers notify listeners after the commit.
 */
export async function recordEvent(tx: Tx | Db, e: NewEvent): Promise<void> {
  await tx.insert(events).values({
    id: newId('evt'),
    tenantId: e.tenantId,
    deploymentId: e.deploymentId,
    versionId: e.versionId ?? null,
    type: e.type,
    actor: e.actor,
    reason: e.reason,
    data: e.data ?? {},
    createdAt: new Date(),
  });
}

/** A page of a deployment's events, newest first, before `cursor` (an event id). */
export function listEventsPage(db: Db, deploymentId: string, page: { limit: number; cursor?: string }) {
  const cursor = idCursor(page.cursor, 'evt');
  const where = cursor !== undefined
    ? and(eq(events.deploymentId, deploymentId), lt(events.id, cursor))
    : eq(events.deploymentId, deploymentId);
  return db.select().from(events).where(where).orderBy(desc(events.id)).limit(page.limit);
}

/** A deployment's events after `afterId`, oldest first (for streaming). */
export function listEventsAfter(db: Db, deploymentId: string, afterId: string) {
  return db
    .select()
    .from(events)
    .where(and(eq(events.deploymentId, deploymentId), gt(events.id, afterId)))
    .orderBy(events.id)
    .limit(500);
}
