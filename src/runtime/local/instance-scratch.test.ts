import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rmdir, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError } from '../../core/errors.js';
import { runCommand } from '../../util/child-process.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { createInstanceScratch, probeScratch, scratchImagePath, scratchMountPath, scratchMountRoot, type InstanceScratch } from './instance-scratch.js';

const probe = probeScratch();
const root = process.getuid?.() === 0;
const skip = !root ? 'scratch filesystems need root' : probe.available ? false : `scratch filesystems unavailable: ${probe.reason}`;
const label = `s${randomBytes(2).toString('hex')}`;
const UID = 461_234;

/** The mount entry of `dir` in this namespace, or undefined. */
const mountOf = (dir: string): string[] | undefined =>
  readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[1] === dir);

describe('instance scratch filesystems', { skip }, () => {
  let dir: string;
  let scratch: InstanceScratch;

  before(async () => {
    dir = await makeTempDir('instance-scratch-test-');
    if (probe.available) scratch = createInstanceScratch({ label, dir, tools: probe.tools });
  });
  after(async () => {
    try {
      await scratch?.sweep();
      await rmdir(join('/run/slipway', label)).catch(() => undefined);
      await rmdir('/run/slipway').catch(() => undefined);
      assert.equal(existsSync(scratchMountRoot(label)), false);
      assert.equal(readFileSync('/proc/self/mounts', 'utf8').includes(`/run/slipway/${label}`), false);
    } finally {
      if (dir) await removeDir(dir);
    }
  });

  test('create mounts an ext4 of the size, nosuid and nodev, open only to the uid; remove undoes all of it', async () => {
    const target = await scratch.create('rti_a', { uid: UID, sizeMb: 32 });
    assert.equal(target, scratchMountPath(label, 'rti_a'));
    const [, , type, opts] = mountOf(target) ?? [];
    assert.equal(type, 'ext4');
    assert.ok(opts?.split(',').includes('nosuid') && opts.split(',').includes('nodev'), opts);
    const st = await stat(target);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [UID, UID, 0o700]);
    assert.deepEqual(await readdir(target), [], 'empty: no lost+found');
    const image = scratchImagePath(dir, label, 'rti_a');
    const { stdout } = await runCommand(['df', '--block-size=1M', '--output=size', target]);
    const sizeMb = Number(stdout.trim().split('\n').pop());
    assert.ok(sizeMb > 28 && sizeMb <= 32, `${sizeMb} MB`);
    assert.ok((await stat(image)).blocks * 512 < 4 << 20, 'the image is sparse');

    await scratch.remove('rti_a');
    await scratch.remove('rti_a');
    assert.equal(mountOf(target), undefined);
    assert.equal(existsSync(target), false);
    assert.equal(existsSync(image), false);
    assert.equal((await runCommand(['losetup', '-a'])).stdout.includes(`/${label}-`), false, 'no loop device left');
  });

  test('an image that is already there is neither taken over nor removed', async () => {
    const image = scratchImagePath(dir, label, 'rti_b');
    await writeFile(image, 'not ours to format');
    await assert.rejects(scratch.create('rti_b', { uid: UID, sizeMb: 8 }), { code: 'EEXIST' });
    assert.equal(readFileSync(image, 'utf8'), 'not ours to format');
    assert.equal(mountOf(scratchMountPath(label, 'rti_b')), undefined);
    await scratch.remove('rti_b');
    assert.equal(existsSync(image), false);
  });

  test('prepare removes what is not kept: mounted, merely attached or just a file', async () => {
    const kept = await scratch.create('rti_keep', { uid: UID, sizeMb: 8 });
    const mounted = await scratch.create('rti_gone', { uid: UID, sizeMb: 8 });
    // A crash between attaching the loop device and mounting it.
    const attachedImage = scratchImagePath(dir, label, 'rti_loop');
    await writeFile(attachedImage, '');
    await runCommand(['truncate', '-s', '8M', attachedImage]);
    await runCommand(['losetup', '--find', attachedImage]);
    const bareImage = scratchImagePath(dir, label, 'rti_file');
    await writeFile(bareImage, '');
    await writeFile(join(dir, 'other-rti_x.ext4'), '');

    await scratch.prepare(new Set(['rti_keep']));
    assert.ok(mountOf(kept), 'a kept id stays mounted');
    assert.equal(mountOf(mounted), undefined);
    assert.equal((await runCommand(['losetup', '-a'])).stdout.includes(attachedImage), false, 'the attached loop is detached');
    assert.deepEqual((await readdir(dir)).sort(), ['other-rti_x.ext4', `${label}-rti_keep.ext4`].sort(), 'only what carries the label is touched');
    await scratch.remove('rti_keep');
  });

  test('a /tmp the disk could not hold beside what running instances may still write is insufficient_storage', async () => {
    const free = await statfs(dir);
    const freeMb = Math.floor((free.bavail * free.bsize) / (1024 * 1024));
    // Sparse images of a bit over half the free space each: the first fits, the second (a promise
    // of disk the first has not used yet) does not, although each alone would. The margin keeps
    // the outcome the same while other tests' files come and go on the same disk.
    const half = Math.floor(freeMb / 2) + Math.floor(freeMb / 8);
    await scratch.create('rti_big1', { uid: UID, sizeMb: half });
    await assert.rejects(
      scratch.create('rti_big2', { uid: UID, sizeMb: half }),
      (err) => isSlipwayError(err, 'insufficient_storage') && /disk_mb/.test(err.message),
    );
    assert.equal(existsSync(scratchImagePath(dir, label, 'rti_big2')), false, 'nothing was made for the refused one');
    await scratch.remove('rti_big1');
    // With the first gone, its promise goes too.
    await scratch.create('rti_big2', { uid: UID, sizeMb: half });
    await scratch.remove('rti_big2');
  });
});
