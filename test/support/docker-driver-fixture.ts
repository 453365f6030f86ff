/**
 * A docker driver for one test file: a private engine, a unique label, a claimed /16, and a
 * cleanup that destroys everything and then checks that nothing of the label is left on the host
 * (namespaces, veths, the nft table, the blackhole route) before the engine's own cleanup.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createDockerDriver, type DockerDriver, type DockerDriverOptions } from '../../src/runtime/docker/docker-driver.js';
import type { EngineApi } from '../../src/runtime/docker/engine-api.js';
import { makeTempDir, removeDir } from '../../src/util/temp-dir.js';
import { startTestEngine, type TestEngine } from './docker-engine.js';
import { claimHostValue } from './host-claims.js';
import { localLeftovers, uniqueNames } from './local-driver-modes.js';

/** A prepared docker driver on a private engine. */
export interface DockerDriverFixture {
  api: EngineApi;
  driver: DockerDriver;
  label: string;
  subnet: string;
  /** A new driver object over the same engine and state, as a restarted agent makes (`more` overrides options). */
  open(more?: Partial<DockerDriverOptions>): DockerDriver;
  /** Destroys every instance, asserts nothing is left on the host, stops the engine. */
  cleanup(): Promise<void>;
}

/** Starts the engine and a prepared driver; on failure removes what it made. */
export async function startDockerDriverFixture(): Promise<DockerDriverFixture> {
  // `c` as the platform's container driver's label has it; the /16 claimed like a test
  // platform's instance subnet, so no platform running beside this one routes the same range.
  const label = `${uniqueNames('d').run}c`;
  const claim = claimHostValue('instance-subnet', 100, 200);
  const subnet = `10.${claim.value}.0.0/16`;
  const stateDir = await makeTempDir('docker-driver-');
  const drivers: DockerDriver[] = [];
  let engine: TestEngine | undefined;
  const release = async (): Promise<void> => {
    for (const d of drivers) d.close();
    try {
      await engine?.cleanup();
    } finally {
      claim.release();
      await removeDir(stateDir);
    }
  };
  try {
    engine = await startTestEngine();
    const options: DockerDriverOptions = { api: engine.engine.api, stateDir: join(stateDir, 'state'), label, subnet };
    const open = (more: Partial<DockerDriverOptions> = {}): DockerDriver => {
      const d = createDockerDriver({ ...options, ...more });
      drivers.push(d);
      return d;
    };
    const driver = open();
    await driver.prepare();
    return {
      api: engine.engine.api, driver, label, subnet, open,
      async cleanup() {
        try {
          await driver.destroyAll();
          assert.deepEqual(await localLeftovers(label, subnet), []);
        } finally {
          await release();
        }
      },
    };
  } catch (err) {
    // The start's error is the one worth seeing; a failing cleanup after it is reported beside it.
    await release().catch((cleanupErr: unknown) => {
      throw new AggregateError([err, cleanupErr], 'the docker driver fixture failed to start, and then to clean up');
    });
    throw err;
  }
}
