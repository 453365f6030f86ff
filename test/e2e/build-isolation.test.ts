// What a build command can reach: not Slipway's keys, database or blobs, not its environment.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
const isRoot = process.getuid?.() === 0;

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
