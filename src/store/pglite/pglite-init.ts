import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runCommand } from '../../util/child-process.js';

/**
 * What the child runs: plain JavaScript, so it needs no TypeScript loader whichever way the
 * server was started. The module URL and the directory come as arguments, never as code.
 */
const INITDB_SCRIPT = [
  'const [moduleUrl, dataDir] = process.argv.slice(1);',
  'const { PGlite } = await import(moduleUrl);',
  'const db = await PGlite.create(dataDir);',
  'await db.close();',
].join('\n');

/** Longest a first-time database creation may take (it takes several seconds). */
const INITDB_TIMEOUT_MS = 180_000;

/** True when `dataDir` holds no database yet (missing or empty). */
export async function needsInitdb(dataDir: string): Promise<boolean> {
  const entries = await readdir(dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.length === 0;
}

/**
 * Creates a new PGlite database in `dataDir` from a short-lived child process. PostgreSQL's
 * initdb grows PGlite's WebAssembly memory to about 600 MB, and a WebAssembly memory never
 * shrinks: done in the server, a first start would keep ~820 MB resident for the server's
 * whole life, where a server that opens an existing database holds ~300 MB less
 * (docs/operations.md#memory). The database is made in a sibling folder and renamed into
 * place, so a crash halfway leaves no half-made database behind (the next start makes it again).
 */
export async function initPgliteDataDir(dataDir: string): Promise<void> {
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.initdb`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    await runCommand([process.execPath, '--input-type=module', '-e', INITDB_SCRIPT, import.meta.resolve('@electric-sql/pglite'), staging], {
      timeoutMs: INITDB_TIMEOUT_MS,
    });
    // An empty dataDir (made by the caller) gives way; one with files in it is never replaced.
    await rmdir(dataDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(staging, dataDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
