import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InstanceHandle, RuntimeDriver } from '../runtime/runtime-driver.js';
import { isSha256Hex } from '../util/sha256.js';

/** What is recorded for an instance that runs from no unpacked tree (a container image). */
export const NO_TREE = 'none';

/**
 * Which unpacked release each instance on this host runs from: one small file per instance
 * (`<dir>/<instance id>`, holding the release's sha256). A handle does not say which release it
 * runs, and instances outlive the agent that started them, so an agent about to remove a
 * release reads these for every instance it does not supervise itself (agent-process.ts).
 */
export class ReleaseClaims {
  constructor(private readonly dir: string) {}

  /** Records that instance `instanceId` runs from release `sha256` (or from {@link NO_TREE}). */
  async claim(instanceId: string, sha256: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Written aside and renamed, so a reader never sees half a name (it would count as unknown).
    const tmp = join(this.dir, `.${this.name(instanceId)}.${process.pid}`);
    await writeFile(tmp, `${sha256}\n`, { mode: 0o600 });
    await rename(tmp, join(this.dir, this.name(instanceId)));
  }

  /** The release instance `instanceId` runs from, {@link NO_TREE}, or null when no agent recorded one. */
  async releaseOf(instanceId: string): Promise<string | null> {
    const text = await readFile(join(this.dir, this.name(instanceId)), 'utf8').catch(() => '');
    const sha = text.trim();
    return isSha256Hex(sha) || sha === NO_TREE ? sha : null;
  }

  /** Forgets instance `instanceId` (it was removed). */
  async drop(instanceId: string): Promise<void> {
    await rm(join(this.dir, this.name(instanceId)), { force: true });
  }

  /**
   * Forgets the instances not in `live` whose record is older than `minAgeMs`: their instances
   * were removed without this agent (`slipway down`, a crash). The age spares a start that has
   * recorded its release but is not listed by the driver yet.
   */
  async prune(live: ReadonlySet<string>, minAgeMs: number, now = Date.now()): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith('.') || live.has(decodeURIComponent(name))) continue;
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (st !== null && now - st.mtimeMs >= minAgeMs) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Forgets every instance (all were destroyed). */
  async dropAll(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private name(instanceId: string): string {
    return encodeURIComponent(instanceId);
  }
}

/**
 * `driver`, recording in `claims` the tree each instance it starts runs from (or {@link NO_TREE})
 * before the start, so a sweep by another agent process never sees the instance without its
 * release, and forgetting it once the instance is removed. Every other member is the driver's
 * own, bound to it.
 */
export function claimingReleases(driver: RuntimeDriver, claims: ReleaseClaims): RuntimeDriver {
  const start: RuntimeDriver['start'] = async (spec) => {
    const sha = spec.release.kind === 'tree' ? basename(spec.release.appDir) : NO_TREE;
    if (sha === NO_TREE || isSha256Hex(sha)) await claims.claim(spec.id, sha);
    return driver.start(spec);
  };
  const remove = async (handle: InstanceHandle): Promise<void> => {
    await driver.remove(handle);
    await claims.drop(handle.id);
  };
  const destroyAll = async (): Promise<void> => {
    await driver.destroyAll();
    await claims.dropAll();
  };
  const own: Record<PropertyKey, unknown> = { start, remove, destroyAll };
  return new Proxy(driver, {
    get(target, key) {
      if (Object.hasOwn(own, key)) return own[key];
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
