/**
 * Time from `start()` to the first HTTP 200 of a trivial Node.js server, with the local
 * driver isolated (bwrap + netns + cgroups; needs root) and with `isolation: 'none'`. Prints
 * median and p90 of each, how long start() itself took, and the ratio of the medians.
 *
 *   node --import tsx bench/runtime-start.ts [runs=15]
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_RESOURCES } from '../src/core/runtime.js';
import { createLocalDriver } from '../src/runtime/local/local-driver.js';
import { makeTempDir, removeDir } from '../src/util/temp-dir.js';

const runs = Number(process.argv[2] ?? 15);
const SERVER_JS = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT));\n`;

function ok(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const req = request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function measure(mode: 'auto' | 'none', root: string): Promise<{ first: number[]; start: number[]; isolated: boolean }> {
  const label = `b${randomBytes(2).toString('hex')}${mode === 'auto' ? 'i' : 'n'}`;
  const driver = createLocalDriver({
    stateDir: join(root, `state-${mode}`), uidBase: 470_000, subnet: `10.${randomInt(200, 251)}.0.0/16`, label, isolation: mode,
  });
  const first: number[] = [];
  const start: number[] = [];
  try {
    await driver.prepare();
    for (let i = 0; i < runs + 1; i++) {
      const t0 = performance.now();
      const h = await driver.start({
        id: `rti_bench${i}`, release: { kind: 'tree', appDir: join(root, 'app') }, runCommand: 'exec node server.js', port: 3000,
        env: { PATH: '/usr/bin:/bin' }, resources: DEFAULT_RESOURCES, logPath: join(root, 'bench.log'),
      });
      const t1 = performance.now();
      while (!(await ok(h.address))) {
        if (performance.now() - t0 > 10_000) throw new Error(`no answer from ${h.address}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      const t2 = performance.now();
      await driver.stop(h, 1000);
      // The first run warms caches (and makes the release readable): not counted.
      if (i > 0) {
        first.push(t2 - t0);
        start.push(t1 - t0);
      }
    }
  } finally {
    await driver.destroyAll();
  }
  return { first, start, isolated: driver.capabilities.isolatedNetwork };
}

const root = await makeTempDir('runtime-start-bench-');
try {
  await mkdir(join(root, 'app'));
  await writeFile(join(root, 'app', 'server.js'), SERVER_JS);
  const results: Record<string, number> = {};
  for (const mode of ['auto', 'none'] as const) {
    const r = await measure(mode, root);
    const name = mode === 'auto' ? (r.isolated ? 'isolated' : 'auto (fell back to plain)') : 'isolation none';
    results[mode] = quantile(r.first, 0.5);
    console.log(
      `${name.padEnd(16)} first 200: median ${quantile(r.first, 0.5).toFixed(1)} ms, p90 ${quantile(r.first, 0.9).toFixed(1)} ms; ` +
        `start() resolved after median ${quantile(r.start, 0.5).toFixed(1)} ms (${runs} runs)`,
    );
  }
  console.log(`ratio isolated / none: ${((results.auto ?? NaN) / (results.none ?? NaN)).toFixed(2)}x`);
} finally {
  await removeDir(root);
}
