import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { extractDynamicRelease } from '../build/dynamic-build.js';
import { Sha256Tap } from '../util/sha256.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { sweepReleases, type ReleaseSweepOptions, type ReleaseSweepResult } from './release-sweep.js';

export type { ReleaseSweepOptions, ReleaseSweepResult } from './release-sweep.js';

/**
 * Dynamic releases unpacked on this host, one directory per release sha256, shared read-only
 * by every instance of it. A release is downloaded once, checked against its hash and
 * unpacked beside its final place, then renamed into it, so a crash never leaves a half
 * release where an instance could start from it. Kept on disk, so instances restart (and
 * rollbacks boot) while the server is away; {@link sweep} removes those no instance uses
 * any more, after a grace (release-sweep.ts).
 */
export class ReleaseStore {
  private readonly inflight = new Map<string, Promise<string>>();
  /** Releases being removed by a sweep: a start of the same one waits, then unpacks it again. */
  private readonly removing = new Map<string, Promise<void>>();
  /** When each release was last handed out or seen in use (a sweep's clock). */
  private readonly lastUsed = new Map<string, number>();
  private sweeping: Promise<ReleaseSweepResult> | null = null;

  constructor(
    private readonly dir: string,
    private readonly client: ControlPlaneClient,
    private readonly sweepOptions: ReleaseSweepOptions = {},
  ) {}

  /** The app directory of release `sha256`, fetching it first when missing. */
  appDir(sha256: string): Promise<string> {
    this.lastUsed.set(sha256, this.now());
    let p = this.inflight.get(sha256);
    if (!p) {
      p = this.fetch(sha256).finally(() => this.inflight.delete(sha256));
      this.inflight.set(sha256, p);
    }
    return p;
  }

  /**
   * Removes the unpacked releases that no instance uses (`inUse`, asked at the moment each one
   * is claimed) and that no start is fetching, once unused for the grace, or sooner past the
   * most kept unused. One sweep at a time; a second call joins the running one.
   */
  sweep(inUse: () => ReadonlySet<string>): Promise<ReleaseSweepResult> {
    this.sweeping ??= sweepReleases({
      dir: this.dir,
      now: this.now(),
      options: this.sweepOptions,
      lastUsed: this.lastUsed,
      busy: (sha256) => this.inflight.has(sha256) || this.removing.has(sha256) || inUse().has(sha256),
      // A start that asks for the release from now on waits for the removal (fetch below) and
      // unpacks it again.
      removing: (sha256, remove) => {
        const done = remove().finally(() => this.removing.delete(sha256));
        this.removing.set(sha256, done);
        return done;
      },
    }).finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private now(): number {
    return (this.sweepOptions.now ?? Date.now)();
  }

  private async fetch(sha256: string): Promise<string> {
    await this.removing.get(sha256)?.catch(() => undefined);
    const final = join(this.dir, sha256);
    if (await exists(final)) return final;
    await mkdir(this.dir, { recursive: true, mode: 0o711 });
    const tmpTar = join(this.dir, `.${sha256}.${process.pid}.download`);
    const tmpDir = join(this.dir, `.${sha256}.${process.pid}.unpack`);
    try {
      const body = await this.client.download(sha256, AbortSignal.timeout(10 * 60_000));
      const tap = new Sha256Tap();
      await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), tap, createWriteStream(tmpTar, { mode: 0o600 }));
      const digest = tap.digest();
      if (digest.sha256 !== sha256) throw new Error(`release ${sha256} arrived with sha256 ${digest.sha256}`);
      await rm(tmpDir, { recursive: true, force: true });
      await extractDynamicRelease(tmpTar, tmpDir);
      await rename(tmpDir, final).catch(async (err: NodeJS.ErrnoException) => {
        // Another agent process got there first: theirs is as good as ours.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        await rm(tmpDir, { recursive: true, force: true });
      });
      return final;
    } finally {
      await rm(tmpTar, { force: true });
      await rm(tmpDir, { recursive: true, force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
