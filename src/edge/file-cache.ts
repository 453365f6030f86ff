import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { sha256Buffer, sha256File } from '../util/sha256.js';
import { assertSha256 } from './release-source.js';

/** `<stateDir>/files/`: every cached file blob of format-2 releases. */
export function fileCacheDir(stateDir: string): string {
  return join(stateDir, 'files');
}

/** `<stateDir>/files/<first two hex>/<sha256>`: one file or precompressed variant, by content. */
export function fileBlobPath(stateDir: string, sha256: string): string {
  assertSha256(sha256);
  return join(stateDir, 'files', sha256.slice(0, 2), sha256);
}

/**
 * The edge's per-file content-addressed cache: the files and precompressed variants of
 * format-2 releases, each stored once under its sha256 however many releases name it. Every
 * file is checked against its name before it is served: small ones as they are read, large
 * ones once per process (then trusted until removed, as a format-1 tar is once loaded). Files
 * are not fsynced: a copy torn by a crash fails that check and is fetched again.
 */
export class FileCache {
  readonly #stateDir: string;
  /** Large files already hashed (or written) by this process. */
  readonly #trusted = new Set<string>();
  /** Removals in flight: a presence check waits for them, so it never sees a file going away. */
  readonly #removing = new Map<string, Promise<void>>();

  constructor(stateDir: string) {
    this.#stateDir = stateDir;
  }

  /** Where blob `sha256` is (or would be) stored. */
  path(sha256: string): string {
    return fileBlobPath(this.#stateDir, sha256);
  }

  /** True when the blob is on disk with the expected size (its bytes are checked on read). */
  async has(sha256: string, size: number): Promise<boolean> {
    await this.#removing.get(sha256);
    try {
      return (await stat(this.path(sha256))).size === size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Stores verified bytes under their name (temp file, then rename). */
  async write(sha256: string, bytes: Buffer): Promise<void> {
    const path = this.path(sha256);
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(temp, bytes, { mode: 0o644 });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    this.#trusted.add(sha256);
  }

  /** Marks a blob written in place by someone else (a streamed download) as checked. */
  trust(sha256: string): void {
    this.#trusted.add(sha256);
  }

  /** The blob's bytes, checked; a copy that does not match is deleted and throws `blob_corrupt`. */
  async read(sha256: string): Promise<Buffer> {
    const bytes = await readFile(this.path(sha256));
    if (sha256Buffer(bytes) !== sha256) await this.#corrupt(sha256);
    return bytes;
  }

  /** Checks a blob that is streamed from disk rather than read; once per process. */
  async verify(sha256: string): Promise<void> {
    if (this.#trusted.has(sha256)) return;
    if ((await sha256File(this.path(sha256))).sha256 !== sha256) await this.#corrupt(sha256);
    this.#trusted.add(sha256);
  }

  /**
   * Deletes a cached blob. The caller makes sure no loaded release reads it (the release
   * cache's `referencedFiles()` names those that must stay).
   */
  remove(sha256: string): Promise<void> {
    const pending = this.#removing.get(sha256);
    if (pending !== undefined) return pending;
    this.#trusted.delete(sha256);
    const done = rm(this.path(sha256), { force: true }).finally(() => this.#removing.delete(sha256));
    this.#removing.set(sha256, done);
    return done;
  }

  async #corrupt(sha256: string): Promise<never> {
    await this.remove(sha256);
    throw new SlipwayError('blob_corrupt', 'cached file does not match its sha256', { details: { sha256 } });
  }
}
