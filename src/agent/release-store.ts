import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { extractDynamicRelease } from '../build/dynamic-build.js';
import { Sha256Tap } from '../util/sha256.js';
import type { ControlPlaneClient } from './control-plane-client.js';

/**
 * Dynamic releases unpacked on this host, one directory per release sha256, shared read-only
 * by every instance of it. A release is downloaded once, checked against its hash and
 * unpacked beside its final place, then renamed into it, so a crash never leaves a half
 * release where an instance could start from it. Kept on disk, so instances restart (and
 * rollbacks boot) while the server is away.
 */
export class ReleaseStore {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly dir: string, private readonly client: ControlPlaneClient) {}

  /** The app directory of release `sha256`, fetching it first when missing. */
  appDir(sha256: string): Promise<string> {
    let p = this.inflight.get(sha256);
    if (!p) {
      p = this.fetch(sha256).finally(() => this.inflight.delete(sha256));
      this.inflight.set(sha256, p);
    }
    return p;
  }

  private async fetch(sha256: string): Promise<string> {
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
