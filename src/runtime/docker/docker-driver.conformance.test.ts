import { dockerSkipReason } from '../../../test/support/docker-engine.js';
import { startDockerDriverFixture } from '../../../test/support/docker-driver-fixture.js';
import { NODE_IMAGE_PATH, nodeAppImage } from '../../../test/support/node-image.js';
import { runRuntimeDriverConformance } from '../../../test/support/runtime/runtime-driver.conformance.js';

// Only a missing dockerd skips (loudly); any other missing piece fails the suite.
const skip = dockerSkipReason() ?? false;

runRuntimeDriverConformance('docker', async () => {
  const fixture = await startDockerDriverFixture();
  return {
    driver: fixture.driver,
    reopen: fixture.open,
    baseEnv: { PATH: NODE_IMAGE_PATH },
    release: async (appDir) => ({ kind: 'image', image: await nodeAppImage(fixture.api, appDir, { ref: 'slipway-test/conformance:1' }) }),
    cleanup: fixture.cleanup,
  };
}, { skip });
