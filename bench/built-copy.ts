/**
 * A built copy of the working tree, run the way users run Slipway (`node bin/slipway.mjs`,
 * loading `dist/`), not through tsx as the tests do: tsx's loader and its esbuild child would
 * add their own memory to every process. Built in a temp folder so the repository keeps no
 * `dist/` (bin/slipway.mjs would prefer a stale one over the sources).
 */
import { cp, mkdtemp, rm, stat, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/support/platform.js';
import type { Cleanup } from './cleanup.js';
import { runCommand } from './procs.js';

const COPIED = ['bin', 'scripts', 'share', 'src', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

/** A built copy: its root, and tsc's complaints when the tree did not type-check (it still emits). */
export interface BuiltCopy {
  root: string;
  typeErrors: string | null;
}

/** Copies the tree (node_modules linked, not copied) and builds it with tsc. */
export async function buildCopy(cleanup: Cleanup): Promise<BuiltCopy> {
  const root = await mkdtemp(join(tmpdir(), 'slipway-bench-built-'));
  cleanup.add('remove the built copy', () => rm(root, { recursive: true, force: true }));
  for (const name of COPIED) await cp(join(repoRoot, name), join(root, name), { recursive: true, preserveTimestamps: true });
  // scripts/up.mjs runs `npm ci` when the lockfile is newer than the last install: the copy's
  // lockfile keeps its time, so it sees the install as current and never touches the link.
  const lock = await stat(join(repoRoot, 'package-lock.json'));
  await utimes(join(root, 'package-lock.json'), lock.atime, lock.mtime);
  await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  let typeErrors: string | null = null;
  await runCommand([process.execPath, join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], 300_000)
    .catch((err: Error) => (typeErrors = err.message));
  await stat(join(root, 'dist', 'main.js'));
  return { root, typeErrors };
}
