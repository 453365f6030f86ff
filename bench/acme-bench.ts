/**
 * `npm run bench -- acme`: time from "domain verified" to "served over HTTPS" with a certificate
 * from Debian's pebble (goal ≤ 2 s). A platform of its own (`slipway up` with
 * SLIPWAY_ACME_DIRECTORY_URL at a local pebble, whose HTTP-01 checks reach the edge's HTTP port
 * and whose DNS is a loopback server answering every name with 127.0.0.1), one static site,
 * then per sample: a new custom domain, its TXT record, `verify`, and HTTPS requests with SNI =
 * the host, trusting pebble's root alone, until one answers 200. The first handshake is what
 * orders the certificate (on demand); the scheduler's interval is set long so it does not. The
 * baseline, in the same run, is one HTTPS request to a host that already has its certificate.
 */
import { request } from 'node:https';
import { freePort, startPlatform } from '../test/support/platform.js';
import { startPebble } from '../test/support/pebble.js';
import { waitFor } from '../src/util/wait-for.js';
import { verdict } from './report.js';
import { log, section, type Context } from './section.js';
import { ms, summarize, table } from './stats.js';

const SAMPLES = 5;
const GOAL_MS = 2000;

/** The `acme` section of `npm run bench`. */
export async function acmeSection(ctx: Context): Promise<void> {
  const result = await section(ctx, `13. Domain verified → served over HTTPS with a certificate from pebble (${SAMPLES} domains)`, async () => {
    const httpPort = await freePort();
    const pebble = await startPebble({ httpPort, certificateValiditySeconds: 3600 });
    const stopPebble = once(() => pebble.stop());
    ctx.cleanup.add('stop pebble', stopPebble);
    const platform = await startPlatform({
      env: {
        SLIPWAY_HTTP_PORT: String(httpPort), SLIPWAY_DNS_SERVERS: pebble.dnsServer, SLIPWAY_DOMAIN_HTTP_CHECK_PORT: String(httpPort),
        SLIPWAY_ACME_DIRECTORY_URL: pebble.directoryUrl, SLIPWAY_ACME_CA_FILE: pebble.caFile, SLIPWAY_ACME_CHECK_INTERVAL_MS: '600000',
      },
    });
    const stopPlatform = once(() => platform.stop());
    ctx.cleanup.add('stop the acme bench platform', stopPlatform);
    await platform.client.createDeployment({ slug: 'acme-bench' });
    await platform.client.publish('acme-bench', { files: { 'index.html': 'acme bench' } }, { wait: true });
    const root = await pebble.issuingRoot();
    const get = (host: string) => new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: platform.httpsPort, servername: host, headers: { host }, ca: root, agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject).end();
    });
    const rows: { host: string; servedMs: number; attempts: number; baselineMs: number }[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const host = `www${i}.bench-clinic.test`;
      const added = await platform.client.addDomain('acme-bench', host);
      pebble.dns.setTxt(added.verification!.dns.name, [added.verification!.dns.value]);
      const verified = await platform.client.verifyDomain(added.id!);
      if (verified.state !== 'verified') throw new Error(`${host} did not verify: ${JSON.stringify(verified.error)}`);
      const started = performance.now();
      // The edge asks for a certificate only for a host its routes serve, once a minute per
      // host: the first handshake waits until the route reached the edge (plain HTTP serves it).
      await waitFor(async () => (await platform.edge(host)).status === 200, { timeoutMs: 10_000, intervalMs: 10, description: `http://${host}/ routed` });
      let attempts = 0;
      await waitFor(async () => {
        attempts += 1;
        return (await get(host)) === 200;
      }, { timeoutMs: 30_000, intervalMs: 50, description: `https://${host}/` });
      const servedMs = performance.now() - started;
      const again = performance.now();
      await get(host);
      rows.push({ host, servedMs, attempts, baselineMs: performance.now() - again });
    }
    log(table([['host', 'verified → HTTPS 200', 'requests', 'baseline: one HTTPS request, certificate in place'],
      ...rows.map((r) => [r.host, ms(r.servedMs), String(r.attempts), ms(r.baselineMs)])]));
    const served = summarize(rows.map((r) => r.servedMs));
    const baseline = summarize(rows.map((r) => r.baselineMs));
    log(`  verified → served p50 ${ms(served.p50)}, max ${ms(served.max)}; baseline p50 ${ms(baseline.p50)} (same run)`);
    await stopPlatform();
    await stopPebble();
    return served;
  });
  ctx.summary.push({
    what: 'domain verified → served over HTTPS (pebble), p50', goal: `≤ ${GOAL_MS} ms`,
    measured: result ? ms(result.p50) : '—', verdict: result ? verdict(result.p50, GOAL_MS, true) : 'ERROR',
  });
}

/** `fn` run at most once; later calls get the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
