/**
 * One driver in front of two: file-tree releases go to one (the local driver), image releases
 * to the other (the docker driver). The agent keeps one driver, so everything it does (health
 * checks, restarts, drain, re-adoption) works the same for both kinds of release.
 *
 * A start is routed by the release's kind; every later call by the handle, since a handle read
 * back after an agent restart no longer has its release: the image driver's handles carry
 * `data.driver` equal to its name (the docker driver's are `'docker'`), and every other handle
 * is the tree driver's.
 */
import { SlipwayError } from '../core/errors.js';
import type { InstanceHandle, RuntimeDriver } from './runtime-driver.js';

/**
 * Routes by release kind: `tree` releases to `tree`, `image` releases to `image`. Capabilities
 * are the tree driver's (what a file-tree app gets, which callers care most about) with
 * `containerImages` on, since image releases now have somewhere to run; per instance
 * (`capabilitiesOf`) they are those of the driver that runs it.
 */
export function createReleaseKindDriver(tree: RuntimeDriver, image: RuntimeDriver): RuntimeDriver {
  const driverOf = (handle: InstanceHandle): RuntimeDriver => (handle.data.driver === image.name ? image : tree);
  // Both halves run even when one fails: a full stop must not leave one driver's instances
  // running because the other's cleanup threw.
  const both = async (what: string, step: (driver: RuntimeDriver) => Promise<void>): Promise<void> => {
    const results = await Promise.allSettled([step(tree), step(image)]);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ driver: [tree, image][i]!.name, error: r.reason as Error }] : []));
    if (failed.length === 1) throw failed[0]!.error;
    if (failed.length > 1) {
      throw new SlipwayError('internal_error', `${what} failed on both drivers: ${failed.map((f) => `${f.driver}: ${f.error.message}`).join('; ')}`, {
        cause: failed[0]!.error,
        details: { failures: failed.map((f) => ({ driver: f.driver, error: f.error.message })) },
      });
    }
  };
  return {
    name: `${tree.name}+${image.name}`,
    capabilities: { ...tree.capabilities, containerImages: true },
    capabilitiesOf: (handle) => {
      const driver = driverOf(handle);
      return driver.capabilitiesOf?.(handle) ?? driver.capabilities;
    },
    prepare: () => both('prepare', (d) => d.prepare()),
    start: (spec) => (spec.release.kind === 'image' ? image.start(spec) : tree.start(spec)),
    isRunning: (handle) => driverOf(handle).isRunning(handle),
    listeningPorts: (handle) => driverOf(handle).listeningPorts(handle),
    connectionCount: (handle) => driverOf(handle).connectionCount(handle),
    exitInfo: (handle) => driverOf(handle).exitInfo(handle),
    stop: (handle, graceMs) => driverOf(handle).stop(handle, graceMs),
    remove: (handle) => driverOf(handle).remove(handle),
    async list() {
      const [trees, images] = await Promise.all([tree.list(), image.list()]);
      return [...trees, ...images];
    },
    destroyAll: () => both('destroyAll', (d) => d.destroyAll()),
  };
}
