// The data plane outlives the control plane: stopping `slipway up` leaves the edge serving and
// the instances running, and the next `up` on the same home adopts both, with no request
// failing at any point. Then `slipway down --stop-apps` takes everything down and cleans up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/util/wait-for.js';
import { processAlive } from '../../src/util/process-alive.js';
import { claimHostValue, type HostClaim } from '../support/host-claims.js';
import { edgeRequest, startPlatform, type Platform } from '../support/platform.js';
import { copyPgliteTemplate, createTestDatabase, testDatabaseUrl } from '../support/test-store.js';

const SERVER_JS = `
require('node:http').createServer((req, res) => res.end('app ' + process.env.SLIPWAY_RUNTIME_INSTANCE_ID))
  .listen(Number(process.env.PORT));
`;

/**
 * A port for both runs of `up`, this test's alone for its whole run: claimed across test
 * processes (host-claims.ts) from below the kernel's ephemeral range, which no port-0 bind
 * (every other test's freePort()) and no outgoing connect is ever given. A free port taken once
 * and reused would be free for another test file between the two runs. One that something
 * outside the tests holds is skipped.
 */
async function claimPort(): Promise<HostClaim> {
  const [ephemeralLow] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
  const hi = Math.min(30_000, ephemeralLow ?? 30_000);
  if (hi <= 20_000) throw new Error(`the ephemeral port range starts at ${ephemeralLow}: no port below it to claim`);
  for (let attempt = 0; attempt < 20; attempt++) {
    const claim = claimHostValue('up-restart-port', 20_000, hi);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(claim.value, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => server.close(resolve));
      return claim;
    }
    claim.release();
  }
  throw new Error('no claimable free port in [20000, 30000) after 20 tries');
}

/** Requests to each host through the edge, one after another, until stopped; every answer kept. */
function startLoad(port: number, hosts: string[]) {
  const bad: string[] = [];
  let requests = 0;
  let stopped = false;
  const loops = hosts.map(async (host) => {
    while (!stopped) {
      requests++;
      const res = await edgeRequest(port, host).catch((err: Error) => ({ status: 0, text: err.message }));
      if (res.status !== 200) bad.push(`${host}: ${res.status} ${res.text.slice(0, 80)}`);
    }
  });
  return {
    get requests() {
      return requests;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return { bad, requests };
    },
  };
}

test('stopping up leaves the edge and the apps serving; the next up adopts both; no request fails', { timeout: 480_000 }, async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-e2e-'));
  const db = testDatabaseUrl ? await createTestDatabase() : null;
  const instanceNet = claimHostValue('instance-subnet', 100, 200);
  const buildNet = claimHostValue('build-subnet', 200, 250);
  const apiPort = await claimPort();
  const httpPort = await claimPort();
  const httpsPort = await claimPort();
  // The same for both runs of `up`: what names this home's host objects, its ports, its store.
  const env: Record<string, string> = {
    SLIPWAY_UP_STOP_APPS: '0',
    SLIPWAY_API_PORT: String(apiPort.value),
    SLIPWAY_HTTP_PORT: String(httpPort.value),
    SLIPWAY_HTTPS_PORT: String(httpsPort.value),
    SLIPWAY_INSTANCE_SUBNET: `10.${instanceNet.value}.0.0/16`,
    SLIPWAY_BUILD_SUBNET: `10.${buildNet.value}.0.0/16`,
    SLIPWAY_RUNTIME_LABEL: `t${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`,
    SLIPWAY_INSTANCE_UID_BASE: String(1_100_000 + randomInt(0, 10_000) * 1000),
    SLIPWAY_BUILD_UID_BASE: String(200_000 + randomInt(0, 50_000) * 16),
    ...(db ? { SLIPWAY_DATABASE_URL: db.url } : {}),
  };
  if (!db) {
    await mkdir(home, { recursive: true });
    await copyPgliteTemplate(join(home, 'db'));
  }
  let first: Platform | undefined;
  let second: Platform | undefined;
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    first = await startPlatform({ home, env });
    const port = first.httpPort;
    const { client } = first;
    await client.createDeployment({ slug: 'keep' });
    await client.createDeployment({ slug: 'site' });
    const app = await client.publish('keep', { files: { 'server.js': SERVER_JS } }, {
      wait: true, runCommand: 'node server.js', port: 3000, settings: { health_interval_ms: 200 },
    });
    assert.equal(app.version.state, 'ready', JSON.stringify(app.version.error));
    assert.equal((await client.publish('site', { files: { 'index.html': 'static ok' } }, { wait: true })).version.state, 'ready');
    const before = await edgeRequest(port, 'keep.localhost');
    assert.match(before.text, /^app rti_/);
    const record = JSON.parse(await readFile(join(home, 'edge', 'edge.json'), 'utf8')) as { pid: number };

    load = startLoad(port, ['keep.localhost', 'site.localhost']);
    await first.stop();
    assert.match(first.output(), /left running: the apps, the edge/);
    assert.ok(processAlive(record.pid), 'the edge outlived up');
    // Served with no server, no agent and no up: the same instance answers.
    const meanwhile = load.requests;
    await waitFor(() => load!.requests > meanwhile + 20, { description: 'requests served while up is down' });
    assert.equal((await edgeRequest(port, 'keep.localhost')).text, before.text);

    second = await startPlatform({ home, env });
    assert.match(second.output(), new RegExp(`adopting the edge left running \\(pid ${record.pid}\\)`));
    const agentLog = join(home, 'logs', 'agent.log');
    await waitFor(async () => (await readFile(agentLog, 'utf8')).includes('re-adopted a running instance'), { timeoutMs: 30_000, description: 'the new agent re-adopting the instance' });
    await waitFor(async () => (await second!.client.listInstances('keep')).some((i) => i.state === 'healthy'), { timeoutMs: 30_000, description: 'the instance reported healthy again' });
    const settled = load.requests;
    await waitFor(() => load!.requests > settled + 20, { description: 'requests served after the restart' });
    const { bad, requests } = await load.stop();
    load = undefined;
    assert.deepEqual(bad, [], `every one of ${requests} requests answered 200`);
    assert.equal((await edgeRequest(port, 'keep.localhost')).text, before.text, 'the instance was adopted, not started again');
    assert.equal(JSON.parse(await readFile(join(home, 'edge', 'edge.json'), 'utf8')).pid, record.pid, 'the edge was adopted, not replaced');
  } finally {
    await load?.stop();
    // Everything this test left running goes, whichever step it reached; a failing step of the
    // cleanup must not skip the ones after it.
    const last = second ?? first;
    const down = await last?.cli(['down', '--stop-apps']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    await second?.stop();
    await first?.stop();
    await db?.drop().catch(() => undefined);
    await rm(home, { recursive: true, force: true });
    instanceNet.release();
    buildNet.release();
    apiPort.release();
    httpPort.release();
    httpsPort.release();
    assert.equal(down?.code ?? 0, 0, `slipway down --stop-apps: ${down?.stdout}${down?.stderr}`);
  }
});
