import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hostProbe, LOCAL_DRIVER_MODES, localLeftovers, uniqueNames } from '../../../test/support/local-driver-modes.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { runRuntimeDriverConformance } from '../../../test/support/runtime/runtime-driver.conformance.js';
import { createLocalDriver, type LocalDriverOptions } from './local-driver.js';

// Each mode gets its own label; all share this run's /16 (the modes' /30s never meet: each
// label's blackhole route covers the /16, and modes run one after another in this file).
const { run, subnet } = uniqueNames('k');
const letters = { 'isolated': 'i', 'isolated without cgroups': 'c', 'isolation none': 'n' } as Record<string, string>;

// In test:vm's cgroup v2 guest only the mode that enforces limits runs: the guest is there to
// prove those, and every skip inside it fails the run (the other modes run on the host).
const modes = process.env.SLIPWAY_TEST_VM === '1' ? LOCAL_DRIVER_MODES.filter((m) => m.limited) : LOCAL_DRIVER_MODES;

for (const mode of modes) {
  const label = `${run}${letters[mode.name] ?? 'x'}`;
  runRuntimeDriverConformance(`local (${mode.name})`, async () => {
    const stateDir = await makeTempDir('local-conformance-');
    const options: LocalDriverOptions = {
      stateDir: join(stateDir, 'state'), uidBase: 464_000, subnet, label, isolation: mode.isolation, cgroupRoot: mode.cgroupRoot,
    };
    const driver = createLocalDriver(options);
    await driver.prepare();
    assert.equal(driver.capabilities.isolatedNetwork, mode.isolated, `the ${mode.name} mode is what this host gives`);
    return {
      driver,
      reopen: () => createLocalDriver(options),
      baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      async cleanup() {
        try {
          await driver.destroyAll();
          if (hostProbe.available) assert.deepEqual(await localLeftovers(label, subnet), []);
        } finally {
          await removeDir(stateDir);
        }
      },
    };
  }, { skip: mode.skip });
}
