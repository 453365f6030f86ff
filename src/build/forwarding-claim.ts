/**
 * IPv4 forwarding on the default-route interface, shared by every Slipway platform on the host.
 * Build egress needs it on (the replies to a build come in there and are forwarded to its veth),
 * but several platforms may turn it on and off in any order, and each may crash. So the value
 * found before the first claim is kept once per interface (`<dir>/<iface>/prior`), each platform
 * holding a claim is a file named by its label (`<dir>/<iface>/users/<label>`), and the last
 * release puts the prior value back. A small lock directory serialises claims and releases.
 */
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';

/** Where claims live: tmpfs, so a reboot (which resets forwarding) also forgets them. */
export const DEFAULT_CLAIM_DIR = '/run/slipway-build-forwarding';

/** Where the forwarding switches are (a test may point this elsewhere). */
export interface ForwardingOptions {
  claimDir?: string;
  /** Directory holding `<iface>/forwarding` (default `/proc/sys/net/ipv4/conf`). */
  confDir?: string;
}

const LOCK_STALE_MS = 30_000;

/**
 * Whether `iface` forwarded before any Slipway platform claimed it: the recorded prior value
 * while claims exist, else the current one.
 */
export async function forwardedBefore(iface: string, options: ForwardingOptions = {}): Promise<boolean> {
  const prior = await readFile(join(options.claimDir ?? DEFAULT_CLAIM_DIR, safeName(iface), 'prior'), 'utf8').catch(() => null);
  const value = prior ?? (await readFile(join(options.confDir ?? '/proc/sys/net/ipv4/conf', iface, 'forwarding'), 'utf8'));
  return value.trim() === '1';
}

/** Turns forwarding on for `iface` on behalf of `label`, remembering the value before the first claim. */
export async function claimForwarding(iface: string, label: string, options: ForwardingOptions = {}): Promise<void> {
  const dir = join(options.claimDir ?? DEFAULT_CLAIM_DIR, safeName(iface));
  await withLock(options, async () => {
    await mkdir(join(dir, 'users'), { recursive: true, mode: 0o700 });
    const switchFile = join(options.confDir ?? '/proc/sys/net/ipv4/conf', iface, 'forwarding');
    const current = (await readFile(switchFile, 'utf8')).trim();
    await writeFile(join(dir, 'prior'), current, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await writeFile(join(dir, 'users', safeName(label)), '');
    await writeFile(switchFile, '1');
  });
}

/**
 * Drops `label`'s claims on every interface; where it was the last, the interface's prior
 * forwarding value is restored. Idempotent, and what a start after a crash calls first.
 */
export async function releaseForwarding(label: string, options: ForwardingOptions = {}): Promise<void> {
  const root = options.claimDir ?? DEFAULT_CLAIM_DIR;
  const ifaces = await readdir(root).catch(() => [] as string[]);
  if (!ifaces.some((i) => i !== '.lock')) return;
  await withLock(options, async () => {
    for (const iface of ifaces.filter((i) => i !== '.lock')) {
      const dir = join(root, iface);
      await rm(join(dir, 'users', safeName(label)), { force: true });
      if ((await readdir(join(dir, 'users')).catch(() => [])).length > 0) continue;
      const prior = (await readFile(join(dir, 'prior'), 'utf8').catch(() => '')).trim();
      const switchFile = join(options.confDir ?? '/proc/sys/net/ipv4/conf', iface, 'forwarding');
      if ((prior === '0' || prior === '1') && (await exists(switchFile))) await writeFile(switchFile, prior);
      await rm(dir, { recursive: true, force: true });
    }
  });
  // Gone once nothing is claimed; fails harmlessly while another platform holds a claim or the lock.
  await rmdir(root).catch(() => undefined);
}

async function withLock<T>(options: ForwardingOptions, fn: () => Promise<T>): Promise<T> {
  const root = options.claimDir ?? DEFAULT_CLAIM_DIR;
  await mkdir(root, { recursive: true, mode: 0o700 });
  const lock = join(root, '.lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that crashed mid-claim leaves its lock: old enough, it is taken over.
      const age = Date.now() - ((await stat(lock).catch(() => null))?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) await rmdir(lock).catch(() => undefined);
      else if (Date.now() > deadline) throw new SlipwayError('internal_error', `${lock} stayed locked for 10 s`);
      else await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

function safeName(name: string): string {
  if (!/^[\w.-]{1,15}$/.test(name) || name === '.' || name === '..' || name === '.lock') {
    throw new SlipwayError('internal_error', `not an interface or label name: "${name}"`);
  }
  return name;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
