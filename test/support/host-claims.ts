/**
 * Host-wide resources that test platforms running side by side must not share: the second
 * octet of their instance and build subnets. A random pick collided often enough to matter
 * (50 build subnets, dozens of overlapping platforms per run), and two platforms on one /16
 * route each other's builds and remove each other's blackhole routes. A claim is a directory
 * made atomically under the temp folder, holding the claiming process's pid; a claim whose
 * process is gone (a killed test run) is taken over.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive as alive } from '../../src/util/process-alive.js';

const ROOT = join(tmpdir(), 'slipway-test-claims');

/** A claimed value and its release (idempotent). */
export interface HostClaim {
  value: number;
  release(): void;
}

function ownerOf(dir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Claims a free integer in [lo, hi) under `kind`; throws when all are taken by live processes. */
export function claimHostValue(kind: string, lo: number, hi: number): HostClaim {
  mkdirSync(ROOT, { recursive: true });
  const start = randomInt(lo, hi);
  for (let i = 0; i < hi - lo; i++) {
    const value = lo + ((start - lo + i) % (hi - lo));
    const dir = join(ROOT, `${kind}-${value}`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        mkdirSync(dir);
        writeFileSync(join(dir, 'pid'), String(process.pid));
        return { value, release: () => rmSync(dir, { recursive: true, force: true }) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // Held by a live process, or just made by one that has not written its pid yet: skip.
        const owner = ownerOf(dir);
        if (owner === null || alive(owner)) break;
        // Held by a process that is gone (a killed test run): take it over.
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  throw new Error(`no free ${kind} in [${lo}, ${hi}): every one is claimed by a live process`);
}
