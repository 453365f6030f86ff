/**
 * Settings for property-based (fast-check) tests. `npm test` runs each property a bounded,
 * seeded number of times, so a CI run is repeatable; `npm run fuzz` runs the same properties
 * longer with a fresh seed (printed by fast-check on a failure, so it can be replayed with
 * SLIPWAY_FUZZ_SEED).
 */
import type { Parameters } from 'fast-check';

/** The seed CI uses; a failure it finds is the same on every run. */
const CI_SEED = 20261206;

/**
 * fast-check parameters for one property: `runs` in `npm test`, SLIPWAY_FUZZ_RUNS in
 * `npm run fuzz` (at least `runs`), seeded from SLIPWAY_FUZZ_SEED or the fixed CI seed.
 */
export function fuzzParams<T>(runs: number): Parameters<T> {
  const longer = Number(process.env.SLIPWAY_FUZZ_RUNS ?? 0);
  const seedEnv = process.env.SLIPWAY_FUZZ_SEED;
  const fuzzing = longer > 0;
  const seed = seedEnv !== undefined ? Number(seedEnv) : fuzzing ? Date.now() % 2 ** 31 : CI_SEED;
  return { numRuns: Math.max(runs, longer), seed, verbose: 1 };
}
