import { monotonicFactory } from 'ulidx';

/** Type prefixes of every object Slipway names (docs/architecture.md §1). */
export const ID_PREFIXES = [
  'ten', 'prj', 'sbx', 'dep', 'rng', 'ver', 'rol', 'svc', 'rti', 'dom', 'dsv', 'evt', 'op', 'key', 'req', 'hst', 'crt',
] as const;
export type IdPrefix = (typeof ID_PREFIXES)[number];

const ulid = monotonicFactory();

/**
 * A new sortable id: the type prefix plus a ULID in lower case (`dep_01j…`). ULIDs sort by
 * creation time, which makes "newest first" cursors a plain string comparison.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid().toLowerCase()}`;
}

/** True when `value` looks like an id of the given type. */
export function isId(value: string, prefix: IdPrefix): boolean {
  return new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
