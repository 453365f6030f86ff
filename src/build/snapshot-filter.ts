import { SNAPSHOT_EXCLUDED_ANYWHERE, SNAPSHOT_EXCLUDED_AT_ROOT } from '../core/limits.js';

/**
 * The snapshot exclusion rule as a predicate on root-relative POSIX paths: dependency folders
 * and caches (`SNAPSHOT_EXCLUDED_ANYWHERE`) at any depth, build outputs
 * (`SNAPSHOT_EXCLUDED_AT_ROOT`) only from the root. `keepPath` (a normalized explicit
 * `output_path`) and everything under it are never excluded, nor are its parent folders, so a
 * prebuilt `dist/` survives; siblings inside an excluded parent still go.
 */
export function createSnapshotFilter(keepPath?: string): (path: string) => boolean {
  const anywhere = new Set<string>(SNAPSHOT_EXCLUDED_ANYWHERE);
  return (path) => {
    if (keepPath !== undefined && keepPath !== '') {
      if (path === keepPath || path.startsWith(`${keepPath}/`) || keepPath.startsWith(`${path}/`)) return false;
    }
    if (path.split('/').some((segment) => anywhere.has(segment))) return true;
    return SNAPSHOT_EXCLUDED_AT_ROOT.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  };
}
