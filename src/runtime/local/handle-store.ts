/**
 * Instance handles on disk, one `<id>.json` per instance, so a restarted agent finds (and
 * re-adopts or cleans up) what the previous one started. Writes are atomic: a crash leaves the
 * old file or the new one, never half of one.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { InstanceHandle } from '../runtime-driver.js';

/** Persisted handles of one driver. */
export interface HandleStore {
  save(handle: InstanceHandle): Promise<void>;
  /** Forgets a handle; an unknown id is not an error. */
  delete(id: string): Promise<void>;
  /** Every readable handle; unreadable files are skipped (a foreign or damaged file is no instance). */
  list(): Promise<InstanceHandle[]>;
}

/** Instance ids name files, cgroups and hostnames: only a safe alphabet is accepted. */
export function assertInstanceId(id: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new SlipwayError('internal_error', `instance id must be 1-64 of [A-Za-z0-9_-], not "${id}"`);
  }
}

/** A {@link HandleStore} in `dir` (created 0700 on first write: handles name uids and paths). */
export function createHandleStore(dir: string): HandleStore {
  const file = (id: string): string => join(dir, `${id}.json`);
  return {
    async save(handle) {
      assertInstanceId(handle.id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `.${handle.id}.${process.pid}.tmp`);
      await writeFile(tmp, `${JSON.stringify(handle)}\n`, { mode: 0o600 });
      await rename(tmp, file(handle.id));
    },
    async delete(id) {
      assertInstanceId(id);
      await rm(file(id), { force: true });
    },
    async list() {
      const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw err;
      });
      const handles: InstanceHandle[] = [];
      for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
        const text = await readFile(join(dir, name), 'utf8').catch(() => null);
        const handle = text === null ? null : parseHandle(text);
        if (handle) handles.push(handle);
      }
      return handles;
    },
  };
}

/**
 * A handle read back, or null. Handles written before the driver interface went
 * host-independent kept the pid at the top and had no `port`: they are read into today's
 * shape (pid in `data`, port from the address, which was always the app's port locally), so an
 * upgraded agent still re-adopts the instances of the one before.
 */
function parseHandle(text: string): InstanceHandle | null {
  try {
    const v = JSON.parse(text) as Partial<InstanceHandle> & { pid?: unknown };
    if (typeof v.id !== 'string' || typeof v.address !== 'string' || typeof v.startedAt !== 'number') return null;
    if (typeof v.data !== 'object' || v.data === null) return null;
    const data = typeof v.data.pid === 'number' ? v.data : { ...v.data, pid: v.pid };
    const port = typeof v.port === 'number' ? v.port : Number(v.address.slice(v.address.lastIndexOf(':') + 1));
    if (typeof data.pid !== 'number' || !Number.isInteger(port)) return null;
    return { id: v.id, address: v.address, port, startedAt: v.startedAt, data };
  } catch {
    return null;
  }
}
