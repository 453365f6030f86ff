import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { processAlive } from '../util/process-alive.js';
import { removeDir } from '../util/temp-dir.js';
import { dockerSkipReason } from '../../test/support/docker-engine.js';
import { claimHostValue } from '../../test/support/host-claims.js';
import { localLeftovers } from '../../test/support/local-driver-modes.js';
import { destroyHostNetwork } from '../runtime/local/net-namespace.js';
import { parseSubnet16 } from '../runtime/local/instance-net.js';
import { createRuntimeDriver, destroyRuntime } from './agent-startup.js';
import { loadConfig } from './config.js';
import { startContainerEngine } from './container-engine.js';

const skip = dockerSkipReason() ?? (process.getuid?.() === 0 ? false : 'needs root (routes, nftables, dockerd)');

test('a full stop without SLIPWAY_RUNTIME_DRIVER=docker still stops the engine an earlier docker run left, and its host objects', { skip }, async () => {
  // Short: the engine's socket lives under the home. Its own label and claimed /16s, so nothing
  // of another platform on this host is touched.
  const home = await mkdtemp('/tmp/swh-');
  const label = `t${home.slice(-5).toLowerCase().replace(/[^a-z0-9]/g, '0')}`;
  const instanceClaim = claimHostValue('instance-subnet', 100, 200);
  const containerClaim = claimHostValue('instance-subnet', 100, 200);
  const env = {
    SLIPWAY_HOME: home, SLIPWAY_RUNTIME_LABEL: label,
    SLIPWAY_INSTANCE_SUBNET: `10.${instanceClaim.value}.0.0/16`, SLIPWAY_CONTAINER_SUBNET: `10.${containerClaim.value}.0.0/16`,
  };
  const dockerConfig = loadConfig({ ...env, SLIPWAY_RUNTIME_DRIVER: 'docker' });
  const engine = await startContainerEngine(dockerConfig);
  const containerLabel = `${label}c`;
  try {
    // The docker run's host objects: the container driver's blackhole route and nftables table.
    const images = createRuntimeDriver(dockerConfig, engine.api).images;
    await images?.prepare();
    images?.close();
    assert.notDeepEqual(await localLeftovers(containerLabel, dockerConfig.containerSubnet), [], 'the control: the docker side set something up');

    await destroyRuntime(loadConfig(env));
    assert.equal(processAlive(engine.pid), false, 'the engine is still running');
    assert.deepEqual(await localLeftovers(containerLabel, dockerConfig.containerSubnet), []);
  } finally {
    if (processAlive(engine.pid)) await engine.stop().catch(() => undefined);
    await engine.api.close().catch(() => undefined);
    await destroyHostNetwork({ label: containerLabel, subnet: parseSubnet16(dockerConfig.containerSubnet), ip: 'ip', nft: 'nft' }).catch(() => undefined);
    await removeDir(home);
    instanceClaim.release();
    containerClaim.release();
  }
});
