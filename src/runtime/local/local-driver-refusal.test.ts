import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_RESOURCES } from '../../core/runtime.js';
import { SlipwayError } from '../../core/errors.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import type { StartInstanceSpec } from '../runtime-driver.js';
import type { IsolationProbe } from './host-probe.js';
import { createLocalDriver } from './local-driver.js';

// Root without the sandbox tools would run every app as root: the driver refuses instead,
// unless the operator said `none` (then plain processes, as asked). The probe is described
// rather than found, since this host has the tools.
const ROOT_WITHOUT_BWRAP: IsolationProbe = { available: false, reason: 'missing tools: bwrap', root: true };
const label = `t${randomBytes(2).toString('hex')}r`;

test('as root without the sandbox tools, instances are refused unless isolation is none', async () => {
  const root = await makeTempDir('local-driver-refusal-');
  try {
    const appDir = join(root, 'app');
    await mkdir(appDir);
    await writeFile(join(appDir, 'done.txt'), '');
    const spec = (id: string): StartInstanceSpec => ({
      id, release: { kind: 'tree', appDir }, runCommand: 'echo ran as $(id -u)', port: 3000, env: { PATH: '/usr/bin:/bin' },
      resources: DEFAULT_RESOURCES, logPath: join(root, 'logs', `${id}.log`),
    });

    const refusing = createLocalDriver({ stateDir: join(root, 'a'), uidBase: 460_000, label, probe: ROOT_WITHOUT_BWRAP });
    assert.match(refusing.refusal ?? '', /runs as root but cannot sandbox instances \(missing tools: bwrap\)/);
    assert.match(refusing.refusal ?? '', /SLIPWAY_RUNTIME_ISOLATION=none/);
    assert.equal(refusing.capabilities.resourceLimits, false);
    assert.match(refusing.capabilities.resourceLimitsReason ?? '', /plain processes \(missing tools: bwrap\)/);
    await assert.rejects(refusing.start(spec('rti_refused')), (err) => err instanceof SlipwayError && err.code === 'isolation_unavailable');
    assert.deepEqual(await refusing.list(), []);

    const plain = createLocalDriver({ stateDir: join(root, 'b'), uidBase: 460_000, label, isolation: 'none', probe: ROOT_WITHOUT_BWRAP });
    assert.equal(plain.refusal, null);
    const h = await plain.start(spec('rti_plain'));
    await waitFor(async () => !(await plain.isRunning(h)), { description: 'the plain instance to exit' });
    assert.equal((await plain.exitInfo(h)).exitCode, 0);
    await plain.remove(h);

    const notRoot: IsolationProbe = { available: false, reason: 'not running as root', root: false };
    assert.equal(createLocalDriver({ stateDir: join(root, 'c'), label, probe: notRoot }).refusal, null, 'a non-root Slipway runs apps as itself');
  } finally {
    await removeDir(root);
  }
});
