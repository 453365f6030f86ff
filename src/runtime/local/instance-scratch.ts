/**
 * Each isolated instance's `/tmp`: a sparse file of `disk_mb` under the agent's state dir,
 * formatted ext4 and loop-mounted at `/run/slipway/<label>/tmp/<id>`, which the sandbox binds
 * as `/tmp`. A tmpfs would be charged to the instance's memory cgroup, so writing a few hundred
 * MB there got the app OOM-killed long before `disk_mb`; here the writes are page cache the
 * kernel can write back, and a full disk is ENOSPC for the app, not death.
 *
 * Everything carries the platform label and the instance id (image `<label>-<id>.ext4`, mount
 * point `<root>/<id>`), so cleanup after a crash finds exactly what this platform left.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, rmdir, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { runCommand } from '../../util/child-process.js';
import { createLimiter } from '../../util/limiter.js';
import { waitFor } from '../../util/wait-for.js';
import { findTool } from './host-probe.js';

/** Programs the scratch filesystems need (e2fsprogs and util-linux). */
export interface ScratchTools {
  mkfs: string;
  losetup: string;
  mount: string;
  umount: string;
}

/** The outcome of {@link probeScratch}. */
export type ScratchProbe = { available: true; tools: ScratchTools } | { available: false; reason: string };

/** Options of {@link createInstanceScratch}. */
export interface InstanceScratchConfig {
  label: string;
  /** Folder of the image files (root's, under the agent's state dir). */
  dir: string;
  tools: ScratchTools;
}

/** The scratch filesystems of one platform on this host. */
export interface InstanceScratch {
  /** Removes every scratch filesystem of this label whose id is not in `keep` (a crash's leftovers). */
  prepare(keep: ReadonlySet<string>): Promise<void>;
  /** Creates and mounts instance `id`'s filesystem; returns the host folder to bind as `/tmp`. */
  create(id: string, options: { uid: number; sizeMb: number }): Promise<string>;
  /** Unmounts, detaches and deletes instance `id`'s filesystem; idempotent. */
  remove(id: string): Promise<void>;
  /** Removes every scratch filesystem of this label and the mount root (full shutdown). */
  sweep(): Promise<void>;
}

const TIMEOUT = { timeoutMs: 30_000 };
const IMAGE_SUFFIX = '.ext4';

/** Whether this host can make scratch filesystems, and if not, why (for the agent's start line). */
export function probeScratch(): ScratchProbe {
  const tools = { mkfs: findTool('mkfs.ext4'), losetup: findTool('losetup'), mount: findTool('mount'), umount: findTool('umount') };
  const missing = Object.entries(tools).filter(([, path]) => path === null).map(([name]) => (name === 'mkfs' ? 'mkfs.ext4' : name));
  if (missing.length > 0) return { available: false, reason: `missing tools: ${missing.join(', ')}` };
  if (!existsSync('/dev/loop-control')) return { available: false, reason: 'no loop devices (/dev/loop-control)' };
  return { available: true, tools: tools as ScratchTools };
}

/** Where the scratch filesystems of `label` are mounted: root-owned, traversable, not listable. */
export function scratchMountRoot(label: string): string {
  return join('/run/slipway', label, 'tmp');
}

/** The host folder instance `id`'s `/tmp` is mounted on. */
export function scratchMountPath(label: string, id: string): string {
  return join(scratchMountRoot(label), id);
}

/** The image file of instance `id`. */
export function scratchImagePath(dir: string, label: string, id: string): string {
  return join(dir, `${label}-${id}${IMAGE_SUFFIX}`);
}

/** Scratch filesystems of one platform, created per instance and removed with it. */
export function createInstanceScratch(cfg: InstanceScratchConfig): InstanceScratch {
  const root = scratchMountRoot(cfg.label);
  const { tools } = cfg;

  const ensureRoot = async (): Promise<void> => {
    await mkdir(root, { recursive: true, mode: 0o755 });
    // Traversable for the instance uids (bwrap binds their folder), not listable.
    await chmod(root, 0o711);
    if (mountPoints().has(root)) return;
    // Every instance's mount namespace starts as a copy of the host's, holding the scratch
    // mounts of the instances already running. On a private mount those copies would keep a
    // stopped instance's filesystem (and loop device) alive until the other instance ends; a
    // shared root makes the copies slaves, so the host's unmount reaches them too.
    await runCommand([tools.mount, '--bind', root, root], TIMEOUT);
    await runCommand([tools.mount, '--make-shared', root], TIMEOUT);
  };

  const remove = async (id: string): Promise<void> => {
    const target = scratchMountPath(cfg.label, id);
    if (mountPoints().has(target)) await unmount(tools, target);
    // Removing the mount point also detaches the copies other mount namespaces still hold
    // (the kernel does so since 3.18): together with the shared root, nothing pins the loop.
    await rmdir(target).catch(ignore('ENOENT'));
    const image = scratchImagePath(cfg.dir, cfg.label, id);
    if (!existsSync(image)) return;
    // `mount -o loop` detaches on unmount; a crash between attach and mount leaves one behind.
    for (const device of await loopDevicesOf(tools, image)) {
      // The unmount's own auto-detach may still be under way: the device was listed, then gone
      // by the time `--detach` asked (seen once under load). Only a device still attached is an error.
      await runCommand([tools.losetup, '--detach', device], TIMEOUT).catch(async (err: unknown) => {
        if ((await loopDevicesOf(tools, image)).includes(device)) throw err;
      });
    }
    await rm(image, { force: true });
  };

  /** Ids that have an image, a mount or a mount point of this label. */
  const knownIds = async (): Promise<Set<string>> => {
    const ids = new Set<string>();
    const prefix = `${cfg.label}-`;
    for (const name of await readdir(cfg.dir).catch(ignore('ENOENT', []))) {
      if (name.startsWith(prefix) && name.endsWith(IMAGE_SUFFIX)) ids.add(name.slice(prefix.length, -IMAGE_SUFFIX.length));
    }
    for (const point of mountPoints()) if (point.startsWith(`${root}/`)) ids.add(point.slice(root.length + 1));
    for (const name of await readdir(root).catch(ignore('ENOENT', []))) ids.add(name);
    return ids;
  };

  return {
    async prepare(keep) {
      await ensureRoot();
      for (const id of await knownIds()) if (!keep.has(id)) await remove(id);
    },
    create,
    remove,
    async sweep() {
      for (const id of await knownIds()) await remove(id);
      if (mountPoints().has(root)) await unmount(tools, root);
      await rmdir(root).catch(ignore('ENOENT'));
    },
  };

  /**
   * The room check and the sparse image that claims the room, one start at a time: once the
   * image has its size, the next check counts it. Formatting and mounting then run in
   * parallel with other starts (many instances starting at once would otherwise queue here).
   */
  async function reserve(id: string, sizeMb: number): Promise<string> {
    await ensureRoot();
    await mkdir(cfg.dir, { recursive: true, mode: 0o700 });
    await assertRoomFor(cfg.dir, Math.max(1, sizeMb) * MIB);
    const image = scratchImagePath(cfg.dir, cfg.label, id);
    // Exclusive: an image already there is never taken over, nor removed by this call.
    await writeFile(image, '', { mode: 0o600, flag: 'wx' });
    try {
      // Sparse: only what the app writes takes host disk.
      await truncate(image, Math.max(1, sizeMb) * 1024 * 1024);
    } catch (err) {
      await remove(id);
      throw err;
    }
    return image;
  }

  async function create(id: string, { uid, sizeMb }: { uid: number; sizeMb: number }): Promise<string> {
    const image = await oneAtATime(() => reserve(id, sizeMb));
    const target = scratchMountPath(cfg.label, id);
    try {
      // No journal (the contents die with the instance), no reserved blocks (disk_mb is all
      // the app's), and inode tables left uninitialised (a fresh sparse file reads as zeros):
      // formatting takes milliseconds.
      await runCommand([
        tools.mkfs, '-q', '-F', '-O', '^has_journal', '-m', '0',
        '-E', `nodiscard,lazy_itable_init=1,root_owner=${uid}:${uid}`, image,
      ], TIMEOUT);
      await mkdir(target, { mode: 0o700 });
      await runCommand([tools.mount, '-o', 'loop,nosuid,nodev,noinit_itable', image, target], TIMEOUT);
      await chmod(target, 0o700);
      await rmdir(join(target, 'lost+found'));
      return target;
    } catch (err) {
      await remove(id);
      throw err;
    }
  }
}

const MIB = 1024 * 1024;
/** Host disk kept free beyond every image's `disk_mb`: the database and blobs live there too. */
const RESERVE_BYTES = 1024 * MIB;
// The room check and the image it makes must not interleave with another start's (`reserve`).
const oneAtATime = createLimiter(1);

/**
 * Refuses (`insufficient_storage`) an image of `bytes` that the disk under `dir` could not hold
 * on top of what the images already there may still grow by (they are sparse: their unwritten
 * part is a promise of disk, not disk) and a reserve. So every app can write its whole
 * `disk_mb`, and all of them together cannot fill the disk the platform's own state is on.
 */
async function assertRoomFor(dir: string, bytes: number): Promise<void> {
  const fs = await statfs(dir);
  let promised = 0;
  for (const name of await readdir(dir).catch(ignore('ENOENT', []))) {
    if (!name.endsWith(IMAGE_SUFFIX)) continue;
    const s = await stat(join(dir, name)).catch(() => null);
    if (s) promised += Math.max(0, s.size - s.blocks * 512);
  }
  const free = fs.bavail * fs.bsize;
  const reserve = Math.min(RESERVE_BYTES, Math.floor((fs.blocks * fs.bsize) / 20));
  const room = free - promised - reserve;
  if (bytes > room) {
    throw new SlipwayError('insufficient_storage', `this host cannot hold ${Math.round(bytes / MIB)} MB of /tmp (disk_mb) for another instance: ${Math.max(0, Math.round(room / MIB))} MB are free beyond what running instances may still write and a reserve`, {
      details: { disk_mb: Math.round(bytes / MIB), room_mb: Math.max(0, Math.round(room / MIB)) },
    });
  }
}

/** Mount points of this process's namespace (ids and labels need no unescaping). */
function mountPoints(): Set<string> {
  const points = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point) points.add(point);
  }
  return points;
}

async function loopDevicesOf(tools: ScratchTools, image: string): Promise<string[]> {
  const { stdout } = await runCommand([tools.losetup, '--list', '--noheadings', '--output', 'NAME', '--associated', image], TIMEOUT);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * Unmounts `target`, retrying for a moment: the mount namespace of an instance that was just
 * killed can still hold it busy while the kernel tears it down.
 */
async function unmount(tools: ScratchTools, target: string): Promise<void> {
  let last: unknown;
  const done = await waitFor(async () => {
    if (!mountPoints().has(target)) return true;
    try {
      await runCommand([tools.umount, target], TIMEOUT);
      return true;
    } catch (err) {
      last = err;
      return false;
    }
  }, { timeoutMs: 5000, intervalMs: 50, description: `${target} to unmount` }).catch(() => false);
  if (!done) throw last instanceof Error ? last : new Error(`could not unmount ${target}`);
}

function ignore<T = undefined>(code: string, value?: T): (err: NodeJS.ErrnoException) => T {
  return (err) => {
    if (err.code !== code) throw err;
    return value as T;
  };
}
