/**
 * Where the time of a static rollback → served goes, on a real `slipway up`: the server's share
 * (the API request's start until the route change leaves the server, seen by a second watcher
 * of the route stream next to the edge's) and the edge's share (until the edge serves the old
 * content, polled every millisecond over one keep-alive connection). The watcher reads the same
 * stream the edge reads, on the same loopback, so the difference is what the edge itself adds:
 * parsing the message, applying it, and its route journal.
 *
 * Run: `npx tsx bench/rollback-path-bench.ts [rollbacks]` (default 20, 2 warm-ups).
 */
import { request, type IncomingMessage } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Route, RouteMessage } from '../src/core/routes.js';
import { packDirectory } from '../src/sdk/index.js';
import { startBenchPlatform } from './bench-platform.js';
import { cleanUpOnSignals, createCleanup } from './cleanup.js';
import { createEdgeProbe, now } from './edge-probe.js';
import { ms, summarize } from './stats.js';

const RUNS = Number(process.argv[2] ?? 20);
const WARMUPS = 2;
const TIMEOUT_MS = 10_000;

/** A second follower of the route stream: when each (slug, active version) was first seen. */
interface RouteWatch {
  /** Resolves with {@link now} at the message that made `slug` serve `version`. */
  next(slug: string, version: number): Promise<number>;
  close(): void;
}

function watchRoutes(apiUrl: string, token: string): Promise<RouteWatch> {
  const waiters = new Set<{ slug: string; version: number; resolve: (at: number) => void }>();
  const timers = new Set<NodeJS.Timeout>();
  const seen = (route: Route, at: number) => {
    for (const w of waiters) {
      if (w.slug === route.slug && route.active?.version_number === w.version) {
        waiters.delete(w);
        w.resolve(at);
      }
    }
  };
  return new Promise((resolve, reject) => {
    const req = request(`${apiUrl}/api/v1/internal/routes?watch=true`, { headers: { authorization: `Bearer ${token}` } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`route stream answered ${res.statusCode}`));
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = now();
        buffered += chunk;
        for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = event.split('\n').find((line) => line.startsWith('data: '));
          if (data === undefined) continue;
          const message = JSON.parse(data.slice(6)) as RouteMessage;
          if (message.type === 'upsert') seen(message.route, at);
          else if (message.type === 'snapshot') for (const route of message.routes) seen(route, at);
        }
      });
      resolve({
        next: (slug, version) => new Promise((done, fail) => {
          const timer = setTimeout(() => fail(new Error(`no route change to ${slug} v${version}`)), TIMEOUT_MS);
          timers.add(timer);
          waiters.add({ slug, version, resolve: (at) => (clearTimeout(timer), timers.delete(timer), done(at)) });
        }),
        close: () => {
          // A round that failed elsewhere (Promise.all rejected) leaves its wait behind: its
          // timer must not hold the process open, or fire, after the cleanup.
          for (const timer of timers) clearTimeout(timer);
          timers.clear();
          waiters.clear();
          req.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  const cleanup = createCleanup(log);
  cleanUpOnSignals(cleanup, log);
  const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
  const samples = { serverMs: [] as number[], edgeMs: [] as number[], servedMs: [] as number[], apiMs: [] as number[] };
  try {
    const platform = await startBenchPlatform(cleanup, log);
    const { client } = platform;
    const siteDir = await mkdtemp(join(tmpdir(), 'slipway-rollback-path-'));
    cleanup.add('remove the site folder', () => rm(siteDir, { recursive: true, force: true }));
    const dep = await client.createDeployment({ slug: 'rollback-path' });
    const markers: string[] = [];
    for (const name of ['first', 'second']) {
      markers.push(`rollback-path ${name} ${Date.now()}`);
      await writeFile(join(siteDir, 'index.html'), `<p>${markers.at(-1)}</p>`);
      const { version } = await client.publish(dep.slug, await packDirectory(siteDir), { wait: true });
      if (version.state !== 'ready') throw new Error(`version ${version.version_number} is ${version.state}`);
    }
    const watch = await watchRoutes(platform.apiUrl, platform.internalToken);
    cleanup.add('close the route watcher', () => watch.close());
    const probe = createEdgeProbe({ port: platform.httpPort, host: new URL(dep.public_url).hostname, intervalMs: 1 });
    cleanup.add('close the edge probe', () => probe.close());
    for (let i = 0; i < WARMUPS + RUNS; i++) {
      const to = i % 2 === 0 ? 1 : 2;
      const t0 = now();
      const left = watch.next(dep.slug, to);
      const served = probe.waitForContent('/', markers[to - 1] as string, { timeoutMs: TIMEOUT_MS });
      const answered = client.rollback(dep.slug, { to }).then(now);
      const [leftAt, servedAt, answeredAt] = await Promise.all([left, served, answered]);
      if (i < WARMUPS) continue;
      samples.serverMs.push(leftAt - t0);
      samples.edgeMs.push(servedAt - leftAt);
      samples.servedMs.push(servedAt - t0);
      samples.apiMs.push(answeredAt - t0);
    }
  } finally {
    await cleanup.run();
  }
  const row = (name: string, values: number[]) => {
    const x = summarize(values);
    return `  ${name.padEnd(48)} p50 ${ms(x.p50).padStart(9)}  p95 ${ms(x.p95).padStart(9)}  min ${ms(x.min).padStart(9)}  max ${ms(x.max).padStart(9)}`;
  };
  console.log(`Rollback → served on slipway up, ${RUNS} rollbacks (${WARMUPS} warm-ups); load average before: ${loadBefore}, after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(row('request → route change leaves the server', samples.serverMs));
  console.log(row('route change → served by the edge', samples.edgeMs));
  console.log(row('request → served (the static bench\'s figure)', samples.servedMs));
  console.log(row('request → API answer', samples.apiMs));
}

await main();
