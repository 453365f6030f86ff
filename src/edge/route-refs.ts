import type { Route } from '../core/routes.js';
import { isDynamic } from './route-table.js';

/**
 * A set that counts how many holders each member has, so that many routes can share a release
 * and adding or removing one route costs what that route names, not the table. `members` is a
 * live view; `changed` turns true when a member joins or leaves.
 */
export class RefSet {
  readonly #counts = new Map<string, number>();
  readonly members = new Set<string>();
  changed = false;

  add(key: string): void {
    const n = this.#counts.get(key) ?? 0;
    this.#counts.set(key, n + 1);
    if (n === 0) {
      this.members.add(key);
      this.changed = true;
    }
  }

  delete(key: string): void {
    const n = this.#counts.get(key) ?? 0;
    if (n <= 1) {
      this.#counts.delete(key);
      if (this.members.delete(key)) this.changed = true;
    } else {
      this.#counts.set(key, n - 1);
    }
  }

  has(key: string): boolean {
    return this.members.has(key);
  }
}

/** The release a route must have in memory before it is published: its static active one. */
export function staticActiveSha(route: Route): string | undefined {
  return route.active === null || isDynamic(route.active) ? undefined : route.active.artifact_sha256;
}

/**
 * Calls `fn` for every release a route names: its versions, then its active one (usually also
 * among them). A {@link RefSet} fed the same route on add and on delete stays balanced, so no
 * set is built per route (a start-up restores every route at once).
 */
export function forEachNamedSha(route: Route, fn: (sha: string) => void): void {
  for (const v of route.versions) fn(v.artifact_sha256);
  if (route.active !== null) fn(route.active.artifact_sha256);
}
