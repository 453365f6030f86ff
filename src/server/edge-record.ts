import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../util/process-alive.js';

/**
 * What a running `slipway edge` says about itself in `<home>/edge/edge.json`, so that a
 * `slipway up` started after the one that left it running can adopt it instead of starting a
 * second edge on the same port (docs/architecture.md §4, "What survives what").
 */
export interface EdgeRecord {
  pid: number;
  /** The program's version (package.json), for the operator. */
  version: string;
  /**
   * The program's build id ({@link programBuildId}): an edge of another build is replaced, not
   * adopted. Empty for a record written before build ids, which is therefore always replaced.
   */
  build: string;
  /** When it started (epoch ms), for the operator. */
  startedAt: number;
}

/** `<edgeDir>/edge.json`. */
export function edgeRecordPath(edgeDir: string): string {
  return join(edgeDir, 'edge.json');
}

let version: string | undefined;
let buildId: string | undefined;

/** This program's version, from its package.json (read once). */
export function programVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

/**
 * Which code this program runs: sha256 over its version and the relative path and contents of
 * every file of its own code folder (`dist/` when built, `src/` under tsx; unit tests, source
 * maps, declarations and tsc's build info left out). The version alone is not enough: a
 * `git pull`, a local edit or a CI commit changes the code without bumping it, and an edge
 * adopted on the version would keep serving the old code. Contents, not mtimes: `npm run up`
 * runs tsc before every start, and a rewrite of unchanged output must not count as new code.
 * About 500 files, some 3 MB: tens of ms, once per process.
 */
export function programBuildId(): string {
  buildId ??= codeBuildId(fileURLToPath(new URL('..', import.meta.url)), programVersion());
  return buildId;
}

/** Files of a code folder that are not the program itself. */
const NOT_CODE = ['.test.ts', '.map', '.d.ts', '.tsbuildinfo'];

/** The build id of the code under `dir` at version `pkgVersion` ({@link programBuildId}). */
export function codeBuildId(dir: string, pkgVersion: string): string {
  const hash = createHash('sha256').update(`version ${pkgVersion}\n`);
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !NOT_CODE.some((suffix) => entry.name.endsWith(suffix))) {
        const contents = readFileSync(path);
        hash.update(`${relative(dir, path)}\0${contents.length}\0`).update(contents);
      }
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/** Written by the edge once it listens. */
export async function writeEdgeRecord(edgeDir: string): Promise<void> {
  const record: EdgeRecord = { pid: process.pid, version: programVersion(), build: programBuildId(), startedAt: Date.now() };
  await writeFile(edgeRecordPath(edgeDir), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/** Removed by the edge as it stops, if it is still its own. */
export async function removeEdgeRecord(edgeDir: string): Promise<void> {
  const record = await readEdgeRecord(edgeDir);
  if (record?.pid === process.pid) await rm(edgeRecordPath(edgeDir), { force: true });
}

/** The record, or null when there is none or it does not parse. */
export async function readEdgeRecord(edgeDir: string): Promise<EdgeRecord | null> {
  try {
    const record = JSON.parse(await readFile(edgeRecordPath(edgeDir), 'utf8')) as Partial<EdgeRecord>;
    if (Number.isSafeInteger(record.pid) && (record.pid as number) > 0 && typeof record.version === 'string') {
      const build = typeof record.build === 'string' ? record.build : '';
      return { pid: record.pid as number, version: record.version, build, startedAt: Number(record.startedAt) || 0 };
    }
  } catch {
    // none, or torn by a crash: no edge to adopt
  }
  return null;
}

/**
 * True when `pid` is alive and runs the Slipway process command `command` (`up`, `edge`) for
 * `home`: its argv holds the command (or, for `up`, is `npm run up`'s `scripts/up.mjs`), and the home its environment names (SLIPWAY_HOME, else
 * `~/.slipway`, as loadConfig reads it) is `home`. A pid read from a file left by a crash may
 * have been reused by an unrelated process, which must never be signalled.
 */
export async function runsSlipwayCommand(pid: number, command: string, home: string): Promise<boolean> {
  if (pid === process.pid || !processAlive(pid)) return false;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  // `npm run up` is `node scripts/up.mjs`, which becomes `slipway up` in the same process.
  if (!argv.includes(command) && !(command === 'up' && argv.some((arg) => basename(arg) === 'up.mjs'))) return false;
  const env = new Map<string, string>();
  for (const entry of (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '/');
  const named = env.get('SLIPWAY_HOME') || join(env.get('HOME') || homedir(), '.slipway');
  return resolve(cwd, named) === resolve(home);
}

/**
 * The edge a previous `up` left running for this home, if its process is still that edge
 * ({@link runsSlipwayCommand}, so a reused pid is not taken for it). Null otherwise.
 * `sameBuild` tells whether it runs this very code and so can be adopted as it is.
 */
export async function findLeftEdge(edgeDir: string, home: string): Promise<(EdgeRecord & { sameBuild: boolean }) | null> {
  const record = await readEdgeRecord(edgeDir);
  if (record === null || !(await runsSlipwayCommand(record.pid, 'edge', home))) return null;
  return { ...record, sameBuild: record.build !== '' && record.build === programBuildId() };
}
