import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { claimForwarding, forwardedBefore, releaseForwarding } from './forwarding-claim.js';

/** A fake `/proc/sys/net/ipv4/conf` with one interface, and a claim directory. */
async function fakeHost(initial: string) {
  const root = await makeTempDir('forwarding-claim-test-');
  const confDir = join(root, 'conf');
  await mkdir(join(confDir, 'eth0'), { recursive: true });
  await writeFile(join(confDir, 'eth0', 'forwarding'), initial);
  const options = { confDir, claimDir: join(root, 'claims') };
  const value = async () => (await readFile(join(confDir, 'eth0', 'forwarding'), 'utf8')).trim();
  return { root, options, value };
}

test('forwarding stays on while any platform holds a claim and goes back to its first value after the last', async () => {
  const host = await fakeHost('0');
  try {
    assert.equal(await forwardedBefore('eth0', host.options), false);
    await claimForwarding('eth0', 'alpha', host.options);
    assert.equal(await host.value(), '1');
    // A second platform finds it on already: that must not become the value to restore, nor
    // make it think the host routed before.
    assert.equal(await forwardedBefore('eth0', host.options), false);
    await claimForwarding('eth0', 'beta', host.options);
    await releaseForwarding('alpha', host.options);
    assert.equal(await host.value(), '1', 'beta still builds');
    await releaseForwarding('beta', host.options);
    assert.equal(await host.value(), '0', 'the host\'s own setting is back');
    assert.equal(existsSync(host.options.claimDir), false, 'no claim directory is left');
  } finally {
    await removeDir(host.root);
  }
});

test('a platform restarted after a crash releases its old claim; a host that forwarded already keeps forwarding', async () => {
  const host = await fakeHost('1');
  try {
    await claimForwarding('eth0', 'alpha', host.options);
    // The crash: no release. The next start releases first, then claims again.
    await releaseForwarding('alpha', host.options);
    assert.equal(await host.value(), '1');
    await claimForwarding('eth0', 'alpha', host.options);
    await releaseForwarding('alpha', host.options);
    await releaseForwarding('alpha', host.options);
    assert.equal(await host.value(), '1');
    await assert.rejects(claimForwarding('eth0', '../x', host.options), /not an interface or label name/);
  } finally {
    await removeDir(host.root);
  }
});
