/**
 * The longest event-loop stall a test accepts while hostile input is read. The goal is 100 ms,
 * and `npm run fuzz` (which runs alone) holds code to it. `npm test` runs two test files at a
 * time on a 2-core machine beside real platforms, and their scheduling and GC pauses show up in
 * the same histogram, so the suite allows 1 s: still far below what the defects cost (the
 * old archive reader held the loop for 2 s on 8 MB of trailing data and 19 s on 32 MB).
 */
export const MAX_STALL_MS = Number(process.env.SLIPWAY_MAX_STALL_MS ?? (process.env.SLIPWAY_FUZZ_RUNS ? 100 : 1000));
