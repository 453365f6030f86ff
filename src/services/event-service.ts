import type { ServiceContext } from './context.js';
import type { DeploymentRow } from './deployment-queries.js';
import { listEventsAfter, listEventsPage } from './event-log.js';

/** A deployment's events as the API reads them: pages, and what came after for a live stream. */
export class EventService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Up to `limit` events, newest first, before `cursor` (an event id). */
  page(dep: DeploymentRow, page: { limit: number; cursor?: string }) {
    return listEventsPage(this.ctx.store.db, dep.id, page);
  }

  /** The events after `afterId`, oldest first (at most 500 per call). */
  after(dep: DeploymentRow, afterId: string) {
    return listEventsAfter(this.ctx.store.db, dep.id, afterId);
  }
}
