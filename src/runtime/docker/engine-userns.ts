/**
 * User-namespace remapping for the Slipway-owned dockerd (`--userns-remap`): root in a build
 * step or a container is an unprivileged uid on the host, not host root fenced only by
 * capabilities and seccomp. dockerd maps container ids 0-65535 onto the subordinate id range
 * that `/etc/subuid` and `/etc/subgid` give the user it is told to remap to; that user must
 * exist in `/etc/passwd`. Docker's own `default` makes `dockremap` with the first free range
 * from 100000, which is Slipway's build uid base: Slipway makes its own `slipway-docker` user
 * with a range far above the build (100000+) and instance (300000+) uids instead (docs/docker.md).
 */
import { readFileSync, statSync } from 'node:fs';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { EngineApi } from './engine-api.js';
import { linkDataRoot, relocatedDataRoot } from './engine-data-root.js';
import { runCommand } from '../../util/child-process.js';

/** The user whose subordinate ids dockerd maps container ids onto. */
export const REMAP_USER = 'slipway-docker';

/**
 * The range Slipway gives {@link REMAP_USER} when `/etc/subuid` names none: 65536 ids (every
 * uid an image may use) from 3,000,000, clear of the build and instance uid bases' defaults.
 * An entry an operator wrote for the user is used as it is.
 */
export const DEFAULT_REMAP_RANGE: IdRange = { start: 3_000_000, count: 65_536 };

/** The setting that turns remapping off (documented in docs/configuration.md). */
export const USERNS_OVERRIDE = 'SLIPWAY_DOCKER_USERNS=off';

/** A run of host ids. */
export interface IdRange {
  start: number;
  count: number;
}

/** One line of `/etc/subuid` or `/etc/subgid`. */
export interface SubidEntry extends IdRange {
  owner: string;
}

/** The entries of a subuid/subgid file; comments, blank and malformed lines are skipped. */
export function parseSubids(text: string): SubidEntry[] {
  const entries: SubidEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line.trim());
    if (m) entries.push({ owner: m[1] as string, start: Number(m[2]), count: Number(m[3]) });
  }
  return entries;
}

const overlaps = (a: IdRange, b: IdRange): boolean => a.start < b.start + b.count && b.start < a.start + a.count;

/**
 * The range `owner` has in `entries`, or the line to add for it: {@link DEFAULT_REMAP_RANGE},
 * unless another owner's entry overlaps it (then ids would be shared, so it refuses). Only the
 * first entry counts, as dockerd maps at most 65536 ids here anyway.
 */
export function remapRangeFor(entries: SubidEntry[], owner: string, file: string): { range: IdRange; add: boolean } {
  const own = entries.find((e) => e.owner === owner);
  if (own) {
    if (own.count < 65_536) throw remapError(`${file} gives ${owner} ${own.count} ids; it needs 65536 (every uid an image may use)`);
    return { range: { start: own.start, count: own.count }, add: false };
  }
  const clash = entries.find((e) => overlaps(e, DEFAULT_REMAP_RANGE));
  if (clash) {
    throw remapError(`${file} gives ${clash.owner} ids ${clash.start}-${clash.start + clash.count - 1}, which overlap the range Slipway would give ${owner} (${DEFAULT_REMAP_RANGE.start}-${DEFAULT_REMAP_RANGE.start + DEFAULT_REMAP_RANGE.count - 1}); add a line \`${owner}:<start>:65536\` of a free range to /etc/subuid and /etc/subgid`);
  }
  return { range: DEFAULT_REMAP_RANGE, add: true };
}

/** The `unavailable` error of an engine that would run root as host root; names the override. */
export function remapUnavailable(why: string, cause?: unknown): SlipwayError {
  return remapError(why, cause);
}

function remapError(why: string, cause?: unknown): SlipwayError {
  return new SlipwayError('unavailable', `Dockerfile builds and containers would run as root on the host: user-namespace remapping cannot be set up (${why}); fix that, or set ${USERNS_OVERRIDE} to run them as root anyway`, {
    ...(cause === undefined ? {} : { cause }),
    details: { why },
  });
}

// The host's own account tools, whatever PATH Slipway was given: root runs them, so a PATH
// entry of someone else's must not supply a `useradd` (and a test's PATH without dockerd must
// still reach the "dockerd is not installed" answer, not fail here).
const ACCOUNT_TOOLS_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

async function userExists(user: string): Promise<boolean> {
  return runCommand(['getent', 'passwd', user], { env: ACCOUNT_TOOLS_ENV }).then(() => true, () => false);
}

async function subidsOf(file: string, user: string): Promise<{ range: IdRange; add: boolean }> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw remapError(`${file} is unreadable: ${err.message}`, err);
  });
  return remapRangeFor(parseSubids(text), user, file);
}

/**
 * Creates `file` empty (0644, as shadow ships it) when it does not exist: shadow's `usermod`
 * refuses `--add-subuids` with "does not exist" (exit 2), and a fresh host or a CI image may
 * have neither file. Flag `a`: a file made meanwhile (another engine starting) is kept as it is.
 */
async function ensureFile(file: string): Promise<void> {
  const missing = await stat(file).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  if (!missing) return;
  await writeFile(file, '', { flag: 'a', mode: 0o644 });
  await chmod(file, 0o644); // the umask may have taken bits off the mode above
}

/**
 * The user's subordinate uid and gid ranges, adding {@link DEFAULT_REMAP_RANGE} where one is
 * missing. `usermod` writes them under shadow's own lock and adds nothing already there, so two
 * engines starting at once cannot write the range twice (two identical ranges would map the
 * same host ids twice, which the kernel refuses). `root` is where `etc/` is: `/`, or a test's
 * fixture (then `usermod --prefix`).
 */
export async function ensureSubidRanges(user: string, root = '/'): Promise<IdRange> {
  const [subuid, subgid] = [join(root, 'etc/subuid'), join(root, 'etc/subgid')];
  const [uids, gids] = [await subidsOf(subuid, user), await subidsOf(subgid, user)];
  if (uids.add || gids.add) {
    const span = `${DEFAULT_REMAP_RANGE.start}-${DEFAULT_REMAP_RANGE.start + DEFAULT_REMAP_RANGE.count - 1}`;
    if (uids.add) await ensureFile(subuid);
    if (gids.add) await ensureFile(subgid);
    const prefix = root === '/' ? [] : ['--prefix', root];
    const argv = ['usermod', ...prefix, ...(uids.add ? ['--add-subuids', span] : []), ...(gids.add ? ['--add-subgids', span] : []), user];
    await runCommand(argv, { env: ACCOUNT_TOOLS_ENV }).catch(async (err: Error) => {
      // The other engine's usermod held the lock: what counts is that the ranges are there now.
      if ((await subidsOf(subuid, user)).add || (await subidsOf(subgid, user)).add) {
        throw remapError(`cannot give ${user} subordinate ids: ${err.message}`, err);
      }
    });
  }
  if (uids.range.start !== gids.range.start) throw remapError(`${subuid} and ${subgid} give ${user} different ranges (${uids.range.start}, ${gids.range.start})`);
  return uids.range;
}

/**
 * Makes sure {@link REMAP_USER} exists (a system user with no home and no shell) and has
 * subordinate uids and gids, adding what is missing. Idempotent. Returns the uid range root in
 * a container becomes. Throws `unavailable` naming what is wrong and {@link USERNS_OVERRIDE}.
 */
export async function ensureRemapIdentity(): Promise<IdRange> {
  if (process.getuid?.() !== 0) throw remapError('only root can remap: Slipway does not run as root');
  const max = Number((await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '1')).trim());
  if (max === 0) throw remapError('the kernel allows no user namespaces (user.max_user_namespaces is 0)');
  if (!(await userExists(REMAP_USER))) {
    const argv = ['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', REMAP_USER];
    await runCommand(argv, { env: ACCOUNT_TOOLS_ENV }).catch(async (err: Error) => {
      // Two engines of two homes starting at once: the other one made it.
      if (!(await userExists(REMAP_USER))) throw remapError(`cannot create the user ${REMAP_USER}: ${err.message}`, err);
    });
  }
  return ensureSubidRanges(REMAP_USER);
}

/**
 * The folder above `dataRoot` that keeps the remapped root from reaching it (not searchable by
 * others), skipping `owned` (those Slipway opens itself), or null. As dockerd checks: the
 * folders above the data-root; it sets the data-root's own mode itself.
 */
export function blockedAncestor(dataRoot: string, owned: string[] = []): string | null {
  for (let dir = dirname(dataRoot); dir !== dirname(dir); dir = dirname(dir)) {
    if (owned.includes(dir)) continue;
    let mode: number;
    try {
      mode = statSync(dir).mode;
    } catch {
      continue; // made later, by Slipway (the home, its docker folder)
    }
    if ((mode & 0o001) === 0) return `${dir} does not let others search it (mode ${(mode & 0o777).toString(8)}), and the remapped root must reach ${dataRoot} through it: \`chmod o+x ${dir}\`, or put SLIPWAY_HOME elsewhere`;
  }
  return null;
}

/** Where an engine keeps its data, as {@link startRemapped} and {@link remapReadiness} need it. */
export interface RemapLayout {
  stateDir: string;
  dataRoot: string;
  /** Where a data-root goes when a folder above the state is closed (default {@link RELOCATED_DATA_ROOTS}). */
  relocateUnder?: string;
}

/**
 * Where the data-root must really be for the remapped root to reach it: null when it can stay
 * (every folder above it but `owned` lets others search it), else the relocated folder. Throws
 * when neither is reachable.
 */
function remappedDataRoot(layout: RemapLayout, owned: string[]): string | null {
  const blocked = blockedAncestor(layout.dataRoot, owned);
  if (blocked === null) return null;
  const target = relocatedDataRoot(layout.stateDir, layout.relocateUnder);
  const alsoBlocked = blockedAncestor(target, [dirname(target)]);
  if (alsoBlocked !== null) throw remapError(`${blocked}; nor can it move to ${target}: ${alsoBlocked}`);
  return target;
}

/** What a remapped start would find on this host, read without changing it (`slipway doctor`). */
export interface RemapReadiness {
  /** The user dockerd remaps to. */
  user: string;
  /** The host uid container root becomes: the user's `/etc/subuid` entry, or the range Slipway would add. */
  root_uid: number | null;
  /** Why a remapped engine would not start here; null when it would. */
  problem: string | null;
  /** Where the data-root moves to, when a folder above the home is closed to others; else null. */
  data_root_moved_to: string | null;
}

/**
 * Checks what {@link startRemapped} needs, changing nothing; `owned` as for {@link blockedAncestor}.
 * `root` is where `etc/subuid` and `etc/subgid` are read (`/`, or a test's fixture).
 */
export function remapReadiness(layout: RemapLayout, owned: string[], root = '/'): RemapReadiness {
  const fail = (problem: string): RemapReadiness => ({ user: REMAP_USER, root_uid: null, problem, data_root_moved_to: null });
  if (process.getuid?.() !== 0) return fail('only root can remap: Slipway does not run as root');
  try {
    if (readText('/proc/sys/user/max_user_namespaces').trim() === '0') return fail('the kernel allows no user namespaces (user.max_user_namespaces is 0)');
    const [subuid, subgid] = [join(root, 'etc/subuid'), join(root, 'etc/subgid')];
    const uids = remapRangeFor(parseSubids(readText(subuid)), REMAP_USER, subuid);
    remapRangeFor(parseSubids(readText(subgid)), REMAP_USER, subgid);
    return { user: REMAP_USER, root_uid: uids.range.start, problem: null, data_root_moved_to: remappedDataRoot(layout, owned) };
  } catch (err) {
    const why = err instanceof SlipwayError ? err.details.why : undefined;
    return fail(typeof why === 'string' ? why : String(err));
  }
}

/** A file's text; '' when it does not exist (as a start reads it), else its error is the problem. */
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw remapError(`${path} is unreadable: ${(err as Error).message}`, err);
  }
}

/**
 * Everything a remapped start needs, before dockerd is spawned: the user and its ids, and a way
 * down to the data-root for the remapped root. `owned` are the folders Slipway made for the
 * engine (its state folder, the home): they get o+x (never o+r: nobody can list them). Another
 * folder in the way is not changed: the data-root moves instead (engine-data-root.ts). Returns
 * the user to pass to `--userns-remap` and the host uid container root becomes.
 */
export async function startRemapped(layout: RemapLayout, owned: string[]): Promise<{ user: string; rootUid: number }> {
  const range = await ensureRemapIdentity();
  for (const dir of owned) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
  }
  const target = remappedDataRoot(layout, owned);
  if (target !== null) await linkDataRoot(layout.dataRoot, target);
  return { user: REMAP_USER, rootUid: range.start };
}

/**
 * The host uid root runs as on a running engine, or null when it runs without remapping (its
 * `/info` lists no `name=userns` security option). The uid is read from `/etc/subuid`, as
 * dockerd did at its start.
 */
export async function engineRemappedRoot(api: EngineApi): Promise<number | null> {
  const info = await api.json<{ SecurityOptions?: string[] }>({ method: 'GET', path: '/info', timeoutMs: 10_000 });
  if (!(info.SecurityOptions ?? []).some((o) => o.split(',').includes('name=userns'))) return null;
  const own = parseSubids(await readFile('/etc/subuid', 'utf8').catch(() => '')).find((e) => e.owner === REMAP_USER);
  // Remapped to another user (started by hand): still not host root, though Slipway cannot say which uid.
  return own?.start ?? -1;
}
