// What a build command can reach: not Slipway's keys, database or blobs, not its environment.
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
const isRoot = process.getuid?.() === 0;
const hasBwrap = ['/usr/bin/bwrap', '/bin/bwrap'].some((p) => existsSync(p));

before(async () => {
  platform = await startPlatform({ env: { SLIPWAY_TEST_MARKER: 'secret-marker' } });
  await platform.client.createDeployment({ slug: 'iso' });
});
after(async () => platform?.stop());

const publish = (buildCommand: string) =>
  platform.client.publish('iso', { files: { 'x.txt': 'x' } }, { buildCommand, outputPath: 'out', wait: true });

test('the build sees a scrubbed environment without Slipway settings or keys', async () => {
  const result = await publish('mkdir -p out; env > out/index.html');
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  const env = (await platform.edge('v1--iso.localhost')).text;
  assert.match(env, /^PATH=/m);
  assert.doesNotMatch(env, /SLIPWAY_|secret-marker|sk_/);
});

test('as root, a build runs as an unprivileged user and cannot read the admin key', { skip: isRoot ? false : 'builds run as Slipway\'s own user when it is not root' }, async () => {
  const who = await publish('mkdir -p out; id -u > out/index.html');
  assert.equal(who.version.state, 'ready');
  const uid = Number((await platform.edge(`v${who.version.version_number}--iso.localhost`)).text.trim());
  assert.ok(uid >= 100_000, `build uid ${uid}`);
  for (const secret of ['credentials.json', 'internal-token', 'db/PG_VERSION']) {
    const stolen = await publish(`mkdir -p out; cat ${platform.home}/${secret} > out/index.html`);
    assert.equal(stolen.version.state, 'failed', `reading ${secret} must fail`);
    assert.equal(stolen.version.error?.code, 'build_failed');
  }
  const listing = await publish(`mkdir -p out; ls ${platform.home}/blobs > out/index.html`);
  assert.equal(listing.version.state, 'failed', 'the blob store is private');
});

test('as root with bubblewrap, a build has its own pid namespace, sees no state directory and writes only its tree', { skip: isRoot && hasBwrap ? false : 'needs root and bubblewrap' }, async () => {
  const probe = [
    'mkdir -p out',
    // Its own pid namespace: only its own few processes are visible.
    'ls /proc | grep -c "^[0-9]" > out/procs.txt',
    // The state directory is an empty directory here, apart from the build's own tree.
    `ls -A ${platform.home} > out/home.txt`,
    `ls -A ${platform.home}/work > out/work.txt`,
    // The host is read-only outside the build tree and /tmp.
    '(touch /usr/local/slipway-build-probe 2>/dev/null && echo writable || echo read-only) > out/usr.txt',
    '(touch /tmp/probe && echo writable || echo read-only) > out/tmp.txt',
    // Mount points inside the sandbox: none of the host's that come and go (network namespaces,
    // instances' mounts, Docker's overlays), which made bubblewrap fail a build now and then.
    "awk '{print $5}' /proc/self/mountinfo > out/mounts.txt",
  ].join('; ');
  const result = await publish(probe);
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  const read = async (file: string) => (await platform.edge(`v${result.version.version_number}--iso.localhost`, `/${file}`)).text.trim();
  assert.ok(Number(await read('procs.txt')) < 10, `processes visible: ${await read('procs.txt')}`);
  assert.equal(await read('home.txt'), 'work', 'only the path to its own tree exists');
  assert.equal(await read('work.txt'), result.version.id, 'no other build is visible');
  assert.equal(await read('usr.txt'), 'read-only');
  assert.equal(await read('tmp.txt'), 'writable');
  const mounts = (await read('mounts.txt')).split('\n');
  assert.ok(mounts.includes('/usr'), mounts.join(' '));
  const volatile = mounts.filter((m) => /^\/(run|var|mnt|media)\/./.test(m) && m !== '/var/tmp' && !m.startsWith('/var/tmp/'));
  assert.deepEqual(volatile, [], 'no host mount under /run, /var, /mnt or /media');
});
