#!/usr/bin/env node
// `npm run fuzz`: the property-based tests (*.fuzz.test.ts) run longer than in `npm test`,
// with a fresh seed each time. SLIPWAY_FUZZ_RUNS (default 2000 per property) and
// SLIPWAY_FUZZ_SEED (replays a failure fast-check printed) change that.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, SLIPWAY_FUZZ_RUNS: process.env.SLIPWAY_FUZZ_RUNS ?? '2000' };
const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', '.fuzz.test.ts'], { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
