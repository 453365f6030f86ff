import { availableParallelism } from 'node:os';
import type { RuntimeDriver } from '../runtime/runtime-driver.js';
import { createLimiter } from '../util/limiter.js';

/**
 * Instance starts in flight at once by default: twice the cores. Starting is mostly waiting
 * (namespaces, mounts, the sandbox's exec), so two per core keeps both busy, while a host
 * bringing back 100 apps at once (a reboot, `up` started again) still answers its API and
 * health checks instead of spawning 100 sandboxes in one burst.
 */
export function defaultStartConcurrency(): number {
  return 2 * availableParallelism();
}

/**
 * `driver` with at most `slots` calls of `start` in flight; the rest wait in order. Every other
 * member is the driver's own (bound to it), so drivers with private state work unchanged.
 */
export function limitStarts(driver: RuntimeDriver, slots: number): RuntimeDriver {
  const limit = createLimiter(Math.max(1, slots));
  const start: RuntimeDriver['start'] = (spec) => limit(() => driver.start(spec));
  return new Proxy(driver, {
    get(target, key) {
      if (key === 'start') return start;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
