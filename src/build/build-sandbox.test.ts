import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { hostRootArgs, sandboxedArgv } from './build-sandbox.js';

test('a build sees the host\'s top-level trees but none where mounts come and go, and still resolves names through systemd-resolved', async () => {
  const root = await makeTempDir('build-root-test-');
  try {
    for (const dir of ['usr/bin', 'etc', 'opt', 'home', 'run/netns', 'run/systemd/resolve', 'var/lib/docker', 'mnt', 'media', 'tmp', 'proc', 'dev', 'root', 'boot']) {
      await mkdir(join(root, dir), { recursive: true });
    }
    await symlink('usr/bin', join(root, 'bin'));
    await writeFile(join(root, '.dockerenv'), '');
    await writeFile(join(root, 'run/systemd/resolve/stub-resolv.conf'), 'nameserver 127.0.0.53\n');
    await symlink('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
    assert.deepEqual(hostRootArgs(root), [
      '--symlink', 'usr/bin', '/bin',
      '--ro-bind', join(root, 'etc'), '/etc',
      '--ro-bind', join(root, 'home'), '/home',
      '--ro-bind', join(root, 'opt'), '/opt',
      '--ro-bind', join(root, 'usr'), '/usr',
      '--tmpfs', '/run',
      '--tmpfs', '/var',
      '--ro-bind', join(root, 'run/systemd/resolve'), '/run/systemd/resolve',
    ]);
  } finally {
    await removeDir(root);
  }
});

test('a resolv.conf that is a plain file binds nothing more, and the root arguments come before the build\'s own', async () => {
  const root = await makeTempDir('build-root-test-');
  try {
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.53\n');
    assert.deepEqual(hostRootArgs(root), ['--ro-bind', join(root, 'etc'), '/etc', '--tmpfs', '/run', '--tmpfs', '/var']);
  } finally {
    await removeDir(root);
  }
  const argv = sandboxedArgv({ bwrap: '/usr/bin/bwrap', hide: ['/root'], root: ['--ro-bind', '/usr', '/usr'] }, { cwd: '/w', writable: '/w' }, ['true']);
  assert.ok(!argv.includes('/') , 'the host\'s root is never bound whole');
  assert.ok(argv.indexOf('/usr') < argv.indexOf('--proc'));
  assert.deepEqual(argv.slice(argv.indexOf('--bind'), argv.indexOf('--bind') + 3), ['--bind', '/w', '/w']);
});
