/**
 * The build context of a Dockerfile build, as the docker CLI would send it. The engine does not
 * read `.dockerignore` from an uploaded context (the CLI applies it before sending, and so must
 * we), so a `COPY . .` would otherwise put an ignored `.env` into the image.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { create, type WriteEntry } from 'tar';
import type { ContextOwner } from './context-owner.js';
import { readSourceFile } from './detect-support.js';

/** Options for {@link dockerBuildContext}. */
export interface DockerContextOptions {
  /** The unpacked source (the snapshot's files). */
  srcDir: string;
  /** The snapshot tar: the context as it is when there is no `.dockerignore`. */
  snapshotPath: string;
  /** The Dockerfile's path in the source; always sent, as the docker CLI does. */
  dockerfilePath: string;
  /** Where a filtered context is written. */
  outPath: string;
  /**
   * Host ids every entry is given (the engine's remapped root, context-owner.ts); then the
   * context is always written anew, since the snapshot's entries say uid 0. Absent or null:
   * uid 0, and the snapshot is sent as it is.
   */
  owner?: ContextOwner | null;
}

/** The context tar to send, and how many paths `.dockerignore` left out. */
export interface DockerContext {
  path: string;
  ignored: number;
}

/** Every path under `dir`, relative and POSIX, parents before children. */
async function walk(dir: string, prefix = ''): Promise<Array<{ path: string; dir: boolean }>> {
  const out: Array<{ path: string; dir: boolean }> = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    out.push({ path, dir: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...(await walk(join(dir, entry.name), path)));
  }
  return out;
}

/**
 * The snapshot itself when the source has no root `.dockerignore` and no `owner` is given;
 * otherwise a tar of the source without the paths a `.dockerignore` excludes (Docker's rules: `**`, `!` exceptions, later lines win, a
 * matched folder takes its contents along unless an exception brings some back). The
 * Dockerfile and `.dockerignore` are sent even when matched, as the docker CLI sends them.
 */
export async function dockerBuildContext(options: DockerContextOptions): Promise<DockerContext> {
  const text = await readSourceFile({ srcDir: options.srcDir, pathEnv: '', hasBuildCommand: false }, '.dockerignore');
  const owner = options.owner ?? null;
  if (text === undefined && owner === null) return { path: options.snapshotPath, ignored: 0 };
  // Case-sensitive, as Docker is on Linux (the library's default is to ignore case). `.default`:
  // the package is CommonJS typed as an ES default export, and sets `factory.default` for this.
  const rules = dockerignore.default({ ignorecase: false }).add(text ?? '');
  const always = new Set([options.dockerfilePath, '.dockerignore']);
  const all = await walk(options.srcDir);
  // A folder is walked even when ignored, since an exception may bring back something inside it.
  const kept = all.filter((entry) => always.has(entry.path) || !rules.ignores(entry.path));
  // Not portable when owned: portable headers carry no owner at all (uid 0 to the engine). An
  // owner past 7 octal digits takes a pax header before each entry, and BuildKit tells a tar
  // context from a bare Dockerfile by its first 1 KiB: gzip's magic keeps it a tar.
  const ownership = owner === null ? { portable: true } : {
    portable: false,
    gzip: { level: 1 },
    onWriteEntry: (entry: WriteEntry) => {
      if (entry.stat) Object.assign(entry.stat, { uid: owner.uid, gid: owner.gid });
    },
  };
  await create({ cwd: options.srcDir, file: options.outPath, ...ownership, mtime: new Date(0), noDirRecurse: true, strict: true }, kept.map((e) => e.path));
  return { path: options.outPath, ignored: all.length - kept.length };
}
