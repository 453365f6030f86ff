import { and, eq } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { operations } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { presentOperation, type OperationView } from './presenters.js';

/** Polling long work. */
export class OperationService {
  constructor(private readonly ctx: ServiceContext) {}

  async get(principal: Principal, id: string): Promise<OperationView> {
    const [row] = await this.ctx.store.db.select().from(operations)
      .where(and(eq(operations.id, id), eq(operations.tenantId, principal.tenantId))).limit(1);
    if (!row) throw new SlipwayError('operation_not_found', `no operation "${id}"`);
    return presentOperation(row);
  }

  /**
   * Waits until the operation is no longer running or `timeoutMs` passes, re-reading the store
   * after each notification (and at least every second, for work finished by another server).
   */
  async waitUntilDone(principal: Principal, id: string, timeoutMs: number): Promise<OperationView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const op = await this.get(principal, id);
      const left = deadline - Date.now();
      if (op.state !== 'running' || left <= 0) return op;
      await this.ctx.notifier.waitFor('operation', (opId) => opId === id, Math.min(1000, left));
    }
  }
}
