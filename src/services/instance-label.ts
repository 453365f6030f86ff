import { and, asc, eq, notInArray, or } from 'drizzle-orm';
import { TERMINAL_INSTANCE_STATES } from '../core/runtime.js';
import { runtimeInstances } from '../store/schema.js';
import type { Db, Tx } from '../store/store.js';

/** Which of a service's instances an event is about, for people and for programs. */
export interface InstanceLabel {
  /** 1-based place among the version's live instances of the service, oldest first. */
  replica: number;
  /** How many of those there are (counting this one). */
  replicas: number;
  address: string | null;
  /** `rti_… (replica 2 of 2 at 10.1.0.6:3000)`, the start of the event's reason. */
  text: string;
}

/** The label of one instance; `replica` and `replicas` are known at creation. */
export function formatInstanceLabel(id: string, place: { replica: number; replicas: number; address: string | null }): InstanceLabel {
  const { replica, replicas, address } = place;
  const where = address ? ` at ${address}` : '';
  return { replica, replicas, address, text: `${id} (replica ${replica} of ${replicas}${where})` };
}

/**
 * Labels an instance of a multi-instance service: which replica it is, counted among the
 * version's instances that are still live (plus itself, which may just have ended), so the
 * events of two replicas of the same version tell them apart even before they have addresses.
 */
export async function labelInstance(
  tx: Tx | Db,
  row: { id: string; versionId: string; serviceId: string },
  address: string | null,
): Promise<InstanceLabel> {
  const peers = await tx.select({ id: runtimeInstances.id }).from(runtimeInstances)
    .where(and(
      eq(runtimeInstances.versionId, row.versionId), eq(runtimeInstances.serviceId, row.serviceId),
      or(notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES]), eq(runtimeInstances.id, row.id)),
    ))
    .orderBy(asc(runtimeInstances.id));
  const at = peers.findIndex((p) => p.id === row.id);
  return formatInstanceLabel(row.id, { replica: at + 1, replicas: peers.length, address });
}
