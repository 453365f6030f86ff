/**
 * Group `restart` of `npm run bench`: what a restart of `slipway up` costs the apps, on a
 * platform of its own (it is stopped and started several times), with `APPS` tiny dynamic apps
 * and one static site.
 *
 *   a. failed requests to an app and the site while `up` is stopped and started again under
 *      load: first as `up` used to stop (`SLIPWAY_UP_STOP_APPS=1`, the baseline of the same run),
 *      then as it stops now (the edge and the apps left running and adopted);
 *   b. a host-reboot-like cold start: every process of the home and every instance SIGKILLed,
 *      then `up` started again; the time from its start to every app served by the edge again,
 *      with starts one at a time (`SLIPWAY_AGENT_START_CONCURRENCY=1`, the baseline) and with
 *      the default bound.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from '../src/runtime/local/process-tree.js';
import { killTree } from '../test/support/processes.js';
import { edgeRequest, freePort, startPlatform, type Platform } from '../test/support/platform.js';
import { copyPgliteTemplate, testDatabaseUrl } from '../test/support/test-store.js';
import { instanceHandleDir } from './bench-platform.js';
import { claimHostNames, cleanHostOf, killProcessesOf } from './host-cleanup.js';
import { APP_PORT, APP_SETTINGS, ensureDeployment, RUN_COMMAND, serverJs } from './dynamic-app.js';
import { verdict } from './report.js';
import { log, section, type Context } from './section.js';
import { ms, table } from './stats.js';

const APPS = Number(process.env.BENCH_RESTART_APPS ?? 100);
/** Publishes in flight while the apps are created (the host has few cores). */
const PUBLISH_CONCURRENCY = 4;
const COLD_GOAL_MS = 10_000;
const SERVED_TIMEOUT_MS = 180_000;

/** Requests to each host through the edge, one after another, until stopped. */
function startLoad(port: number, hosts: string[]) {
  let failed = 0;
  let requests = 0;
  let stopped = false;
  const statuses: Record<string, number> = {};
  const loops = hosts.map(async (host) => {
    while (!stopped) {
      requests++;
      const res = await edgeRequest(port, host).catch((err: NodeJS.ErrnoException) => ({ status: 0, text: err.code ?? err.message }));
      if (res.status === 200) continue;
      failed++;
      const key = res.status === 0 ? res.text : String(res.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      // A refused port answers at once: do not spin.
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
    return { failed, requests, statuses };
  };
}

/** Polls every app's host until each has answered 200 once; resolves with the time taken. */
async function allServed(port: number, slugs: string[], t0: number): Promise<number> {
  const pending = new Set(slugs);
  const deadline = t0 + SERVED_TIMEOUT_MS;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} of ${slugs.length} apps not served within ${SERVED_TIMEOUT_MS} ms`);
    await Promise.all([...pending].slice(0, 16).map(async (slug) => {
      const res = await edgeRequest(port, `${slug}.localhost`).catch(() => null);
      if (res?.status === 200) pending.delete(slug);
    }));
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

/** SIGKILLs every process of the home (up, server, edge, agent) and every instance tree. */
async function killEverything(home: string): Promise<void> {
  for (const name of await readdir(instanceHandleDir(home)).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    const handle = JSON.parse(await readFile(join(instanceHandleDir(home), name), 'utf8').catch(() => '{}')) as { data?: { pid?: number } };
    if (handle.data?.pid) killTree(processTree(handle.data.pid, null));
  }
  await killProcessesOf(home);
}

/** Section 12 of `npm run bench` (group `restart`). */
export async function restartSection(ctx: Context): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'slipway-bench-restart-'));
  const names = claimHostNames('r');
  const env: Record<string, string> = {
    SLIPWAY_API_PORT: String(await freePort()),
    SLIPWAY_HTTP_PORT: String(await freePort()),
    // The same for both starts, as the adopted edge keeps the one it listens on.
    SLIPWAY_HTTPS_PORT: String(await freePort()),
    ...names.env,
    // Each stop says what it takes: `slipway down --stop-apps` (as `up` used to stop) or `down`.
    SLIPWAY_UP_STOP_APPS: '0',
  };
  if (testDatabaseUrl) env.SLIPWAY_DATABASE_URL = testDatabaseUrl;
  let platform: Platform | undefined;
  const start = async (extra: Record<string, string>) => (platform = await startPlatform({ home, env: { ...env, ...extra } }));
  ctx.cleanup.add('remove the restart bench home', async () => {
    try {
      await killEverything(home);
      await cleanHostOf(home, env);
    } finally {
      await rm(home, { recursive: true, force: true });
      names.release();
    }
  });
  if (!testDatabaseUrl) await copyPgliteTemplate(join(home, 'db'));
  const slugs = Array.from({ length: APPS }, (_, i) => `rs${i}`);
  const port = Number(env.SLIPWAY_HTTP_PORT);

  const restarts = await section(ctx, `12a. Restart of slipway up under load (an app and a static site, requests back to back; ${APPS} apps on the host)`, async () => {
    const p = await start({});
    const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, async () => {
      while (next < slugs.length) {
        const slug = slugs[next++]!;
        await ensureDeployment(p.client, slug);
        // A small /tmp each: every instance's sparse scratch image is a promise of disk, and a
        // hundred of the default 1 GB exceed what many hosts can promise.
        const result = await p.client.publish(slug, { files: { 'server.js': serverJs(slug) } }, {
          wait: true, runCommand: RUN_COMMAND, port: APP_PORT, settings: { ...APP_SETTINGS, disk_mb: 16 },
        });
        if (!result.promoted) throw new Error(`publish to ${slug} was not promoted: ${result.version.error?.message ?? result.version.state}`);
      }
    }));
    await ensureDeployment(p.client, 'rsite');
    await p.client.publish('rsite', { files: { 'index.html': 'static' } }, { wait: true });
    log(`  ${APPS} apps published in ${ms(Date.now() - t0)}`);
    const rows: string[][] = [['stop mode', 'failed / requests', 'failures by answer', 'up start → every app served']];
    const results: Record<string, number> = {};
    for (const [mode, flags] of [['down --stop-apps (as up stopped before)', ['--stop-apps']], ['down (now: edge and apps left running)', []]] as const) {
      const stopLoad = startLoad(port, [`${slugs[0]}.localhost`, 'rsite.localhost']);
      const down = await platform!.cli(['down', ...flags]);
      if (down.code !== 0) throw new Error(`slipway down ${flags.join(' ')} failed: ${down.stdout}${down.stderr}`);
      await platform!.stop();
      const t1 = Date.now();
      await start({});
      const served = await allServed(port, slugs, t1);
      const { failed, requests, statuses } = await stopLoad();
      results[flags.length > 0 ? 'before' : 'now'] = failed;
      rows.push([mode, `${failed} / ${requests}`, Object.entries(statuses).map(([k, n]) => `${n}× ${k}`).join(', ') || 'none', ms(served)]);
    }
    log(table(rows));
    return results;
  });
  ctx.summary.push({
    what: 'failed requests while slipway up restarts under load', goal: '0',
    measured: restarts?.now === undefined ? '—' : `${restarts.now} (before: ${restarts.before})`,
    verdict: restarts?.now === undefined ? 'ERROR' : verdict(restarts.now, 0, true),
  });

  const cold = await section(ctx, `12b. Cold start after a host-reboot-like kill of everything: up start → all ${APPS} apps served`, async () => {
    const rows: string[][] = [['instance starts at once', 'up start → every app served']];
    const results: Record<string, number> = {};
    for (const [label, bound] of [['1 (serial, the baseline)', '1'], ['default (2 × cores)', '']] as const) {
      await killEverything(home);
      // Only its claims to release: every process of it is dead.
      await platform?.stop();
      const t0 = Date.now();
      await start({ SLIPWAY_AGENT_START_CONCURRENCY: bound });
      results[bound || 'default'] = await allServed(port, slugs, t0);
      rows.push([label, ms(results[bound || 'default']!)]);
    }
    log(table(rows));
    return results;
  });
  await platform?.cli(['down', '--stop-apps']).catch(() => undefined);
  ctx.summary.push({
    what: `cold start: ${APPS} apps served again after every process was killed`, goal: `≤ ${COLD_GOAL_MS / 1000} s`,
    measured: cold?.default === undefined ? '—' : `${ms(cold.default)} (serial: ${ms(cold['1'] ?? NaN)})`,
    verdict: cold?.default === undefined ? 'ERROR' : verdict(cold.default, COLD_GOAL_MS, true),
  });
}
