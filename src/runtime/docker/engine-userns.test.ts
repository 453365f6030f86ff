import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError } from '../../core/errors.js';
import { removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import { dockerSkipReason, importBusyboxBase, startTestEngine } from '../../../test/support/docker-engine.js';
import { dockerdArgv, engineLayout, startDockerEngine } from './engine.js';
import { relocatedDataRoot } from './engine-data-root.js';
import { mountsUnder } from './engine-host.js';
import { DEFAULT_REMAP_RANGE, REMAP_USER, blockedAncestor, ensureSubidRanges, parseSubids, remapRangeFor, remapReadiness } from './engine-userns.js';

const skip = dockerSkipReason() ?? (process.getuid?.() === 0 ? false : 'user-namespace remapping needs root');

test('a subuid file is read line by line; comments and malformed lines are skipped', () => {
  assert.deepEqual(parseSubids('# c\nalice:100000:65536\n\nbad line\nbob:x:1\nslipway-docker:3000000:65536\n'), [
    { owner: 'alice', start: 100_000, count: 65_536 },
    { owner: 'slipway-docker', start: 3_000_000, count: 65_536 },
  ]);
});

test('the remap range: the user\'s own entry is kept; else the default is added, unless another owner holds part of it', () => {
  const mine = parseSubids(`${REMAP_USER}:5000000:65536\n`);
  assert.deepEqual(remapRangeFor(mine, REMAP_USER, '/etc/subuid'), { range: { start: 5_000_000, count: 65_536 }, add: false });
  assert.deepEqual(remapRangeFor(parseSubids('dockremap:100000:65536\n'), REMAP_USER, '/etc/subuid'), { range: DEFAULT_REMAP_RANGE, add: true });
  assert.throws(() => remapRangeFor(parseSubids('other:3050000:65536\n'), REMAP_USER, '/etc/subuid'), (err: Error) => {
    assert.ok(isSlipwayError(err, 'unavailable'));
    assert.match(err.message, /other ids 3050000-3115535, which overlap/);
    assert.match(err.message, /SLIPWAY_DOCKER_USERNS=off/);
    return true;
  });
  assert.throws(() => remapRangeFor(parseSubids(`${REMAP_USER}:5000000:1000\n`), REMAP_USER, '/etc/subgid'), /gives slipway-docker 1000 ids; it needs 65536/);
});

test('dockerd is told to remap to Slipway\'s user only when asked', () => {
  const layout = engineLayout('/tmp/swd-x');
  assert.ok(dockerdArgv(layout, { remapUser: REMAP_USER }).includes(`--userns-remap=${REMAP_USER}`));
  assert.equal(dockerdArgv(layout).some((arg) => arg.startsWith('--userns-remap')), false);
});

test('a host with no /etc/subuid nor /etc/subgid gets both (0644) and the range in them', { skip }, async () => {
  // A fixture root: usermod --prefix works on its etc/ as on the host's.
  const root = await mkdtemp('/tmp/swd-etc-');
  try {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd'), `${REMAP_USER}:x:999:999::/nonexistent:/usr/sbin/nologin\n`);
    await writeFile(join(root, 'etc/group'), `${REMAP_USER}:x:999:\n`);
    assert.deepEqual(await ensureSubidRanges(REMAP_USER, root), DEFAULT_REMAP_RANGE);
    for (const file of ['subuid', 'subgid']) {
      assert.equal(statSync(join(root, 'etc', file)).mode & 0o777, 0o644, file);
      assert.deepEqual(parseSubids(await readFile(join(root, 'etc', file), 'utf8')), [{ owner: REMAP_USER, ...DEFAULT_REMAP_RANGE }], file);
    }
    // Idempotent: a second start adds nothing.
    assert.deepEqual(await ensureSubidRanges(REMAP_USER, root), DEFAULT_REMAP_RANGE);
    assert.equal(parseSubids(await readFile(join(root, 'etc/subuid'), 'utf8')).length, 1);
  } finally {
    await removeDir(root);
  }
});

test('the doctor\'s readiness reports an unreadable /etc/subuid as the problem; a missing one is not', { skip }, async () => {
  const root = await mkdtemp('/tmp/swd-etc-');
  try {
    await mkdir(join(root, 'etc'));
    const layout = { stateDir: join(root, 's'), dataRoot: join(root, 's', 'data') };
    await chmod(root, 0o711);
    assert.equal(remapReadiness(layout, [], root).problem, null, 'the control: missing files are read as empty');
    await mkdir(join(root, 'etc/subuid')); // root reads any file: a folder is what cannot be read
    assert.match(remapReadiness(layout, [], root).problem ?? '', new RegExp(`^${root}/etc/subuid is unreadable: EISDIR`));
  } finally {
    await removeDir(root);
  }
});

test('a host without dockerd is told so before remapping changes anything (the state folder\'s mode)', { skip }, async () => {
  const stateDir = await mkdtemp('/tmp/swd-'); // 0700
  try {
    await assert.rejects(startDockerEngine({ stateDir, dockerdPath: '/nonexistent/dockerd', cgroupParent: `slipway-docker-test-${stateDir.slice(-6)}` }), (err: Error) => {
      assert.ok(isSlipwayError(err, 'unavailable'), String(err));
      assert.match(err.message, /^dockerd is not installed/);
      return true;
    });
    assert.equal(statSync(stateDir).mode & 0o777, 0o700, 'the state folder was opened to others for an engine that cannot start');
  } finally {
    await removeDir(stateDir);
  }
});

test('a folder above the data-root that others cannot search is named; folders Slipway owns are skipped', async () => {
  const root = await mkdtemp('/tmp/swd-userns-');
  try {
    const closed = join(root, 'closed');
    await mkdir(join(closed, 'state'), { recursive: true });
    await chmod(root, 0o711);
    await chmod(closed, 0o700);
    const dataRoot = join(closed, 'state', 'data');
    assert.match(blockedAncestor(dataRoot) ?? '', new RegExp(`^${closed} does not let others search it \\(mode 700\\)`));
    assert.equal(blockedAncestor(dataRoot, [closed]), null);
  } finally {
    await removeDir(root);
  }
});

test('an engine that cannot remap is refused before dockerd starts, naming the folder and the override', { skip }, async () => {
  const root = await mkdtemp('/tmp/swd-userns-'); // 0700, and not Slipway's
  try {
    // The state folder is Slipway's (opened), its parent is not, and the data-root cannot move
    // anywhere reachable either: the remapped root could not reach it.
    const stateDir = join(root, 's');
    const relocateUnder = join(root, 'moved');
    await assert.rejects(startDockerEngine({ stateDir, relocateUnder, cgroupParent: `slipway-docker-test-${root.slice(-6)}` }), (err: Error) => {
      assert.ok(isSlipwayError(err, 'unavailable'), String(err));
      assert.match(err.message, /Dockerfile builds and containers would run as root on the host/);
      assert.match(err.message, new RegExp(`${root} does not let others search it`));
      assert.match(err.message, /set SLIPWAY_DOCKER_USERNS=off to run them as root anyway/);
      return true;
    });
    assert.equal(existsSync(engineLayout(stateDir).pidFile), false, 'dockerd was never started');
    assert.equal(existsSync(engineLayout(stateDir).logFile), false, 'dockerd was never started');
  } finally {
    await removeDir(root);
  }
});

test('root in a container of the engine is Slipway\'s unprivileged uid on the host; the engine says which', { skip }, async () => {
  const test1 = await startTestEngine();
  const { engine } = test1;
  try {
    const own = parseSubids(await readFile('/etc/subuid', 'utf8')).find((e) => e.owner === REMAP_USER);
    assert.ok(own, `${REMAP_USER} has a subuid range`);
    assert.equal(engine.remappedRoot, own.start);
    assert.ok(own.start >= 100_000);
    assert.equal(statSync(engine.layout.stateDir).mode & 0o007, 0o001, 'the state folder is searchable, never listable, by others');
    // So the socket itself must keep others out: root's alone, not the host's docker group's.
    const socket = statSync(engine.layout.socketPath);
    assert.deepEqual({ uid: socket.uid, gid: socket.gid, mode: socket.mode & 0o777 }, { uid: 0, gid: 0, mode: 0o660 });
    await importBusyboxBase(engine, 'slipway-test/busybox:1');
    const { Id } = await engine.api.json<{ Id: string }>({
      method: 'POST', path: '/containers/create',
      json: { Image: 'slipway-test/busybox:1', User: '0', Cmd: ['sleep', '300'], Labels: { 'dev.slipway.owned': 'true' }, HostConfig: { NetworkMode: 'none' } },
    });
    await engine.api.json({ method: 'POST', path: `/containers/${Id}/start` });
    const pid = await waitFor(async () => {
      const inspected = await engine.api.json<{ State: { Pid: number } }>({ method: 'GET', path: `/containers/${Id}/json` });
      return inspected.State.Pid > 0 ? inspected.State.Pid : null;
    }, { timeoutMs: 10_000, description: 'the container running' });
    // The control: the pid is the container's own process, root inside.
    assert.match(await readFile(`/proc/${pid}/root/etc/passwd`, 'utf8'), /^app:x:10001:/m);
    const uids = (/^Uid:\s+(.*)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '').trim().split(/\s+/).map(Number);
    assert.deepEqual(uids, [own.start, own.start, own.start, own.start], 'container root is the remapped uid on the host');
    // An adopting start sees the same remapping.
    const again = await startDockerEngine({ stateDir: test1.stateDir, cgroupParent: test1.cgroupParent });
    assert.equal(again.started, false);
    assert.equal(again.remappedRoot, own.start);
    await again.api.close();
  } finally {
    await test1.cleanup();
  }
});

test('an engine running without remapping is not adopted by a start that wants it, and is left running', { skip }, async () => {
  const stateDir = await mkdtemp('/tmp/swd-');
  const cgroupParent = `slipway-docker-test-${stateDir.slice('/tmp/swd-'.length)}`;
  const plain = await startDockerEngine({ stateDir, cgroupParent, usernsRemap: false });
  try {
    assert.equal(plain.remappedRoot, null);
    await assert.rejects(startDockerEngine({ stateDir, cgroupParent }), (err: Error) => {
      assert.ok(isSlipwayError(err, 'unavailable'), String(err));
      assert.match(err.message, new RegExp(`pid ${plain.pid}\\) was started without remapping`));
      // A plain stop of Slipway leaves dockerd running: the way out must be one that stops it.
      assert.match(err.message, /slipway down --stop-apps/);
      assert.match(err.message, /SLIPWAY_DOCKER_USERNS=off/);
      return true;
    });
    const adopted = await startDockerEngine({ stateDir, cgroupParent, usernsRemap: false });
    assert.equal(adopted.pid, plain.pid, 'the control: the same engine is adopted when remapping is off');
    await adopted.api.close();
  } finally {
    await plain.stop({ purge: true });
  }
});

test('a state folder inside a closed folder (root\'s /root/.slipway) gets its data-root moved where the remapped root reaches it', { skip }, async () => {
  const closed = await mkdtemp('/tmp/swd-c-'); // 0700, like /root
  const open = await mkdtemp('/tmp/swd-o-');
  await chmod(open, 0o711);
  const stateDir = join(closed, 's');
  const cgroupParent = `slipway-docker-test-${closed.slice(-6)}`;
  try {
    const engine = await startDockerEngine({ stateDir, cgroupParent, relocateUnder: open });
    try {
      assert.ok(engine.remappedRoot !== null && engine.remappedRoot !== undefined && engine.remappedRoot > 0);
      const target = relocatedDataRoot(stateDir, open);
      assert.equal(await readlink(engineLayout(stateDir).dataRoot), target);
      const info = await engine.api.json<{ DockerRootDir: string }>({ method: 'GET', path: '/info' });
      assert.ok(info.DockerRootDir.startsWith(`${target}/`), info.DockerRootDir);
      assert.equal(statSync(closed).mode & 0o777, 0o700, 'a folder not Slipway\'s is left as it was');
      await importBusyboxBase(engine, 'slipway-test/busybox:1');
    } finally {
      await engine.stop({ purge: true });
    }
    assert.equal(existsSync(relocatedDataRoot(stateDir, open)), false, 'the purge removes the moved data-root too');
    assert.deepEqual(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), open), [], 'no mount is left');
  } finally {
    await removeDir(closed);
    await removeDir(open);
  }
});
