// Upkeep of the Slipway-owned Docker engine on a real platform (SLIPWAY_RUNTIME_DRIVER=docker):
// garbage collection removes the image of a version whose release it collected (not while a
// container uses it) and prunes BuildKit's cache to its bound, a dry run saying what would go;
// and a dockerd killed with SIGKILL is started again by `up`, the container app served again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayApiError, type GcReport } from '../../src/sdk/index.js';
import { createEngineApi, type EngineApi } from '../../src/runtime/docker/engine-api.js';
import { OWNER_LABEL } from '../../src/runtime/docker/engine.js';
import { cgroupDirsFor, mountsUnder, pidsMentioning } from '../../src/runtime/docker/engine-host.js';
import { runCommand } from '../../src/util/child-process.js';
import { processAlive } from '../../src/util/process-alive.js';
import { waitFor } from '../../src/util/wait-for.js';
import { dockerSkipReason, importBusyboxImage } from '../support/docker-engine.js';
import { runtimeLeftovers } from '../support/isolated-platform.js';
import { startPlatform, type Platform } from '../support/platform.js';

const skip = dockerSkipReason() ?? false;
const BASE = 'slipway-test/busybox:1';
const SLUG = 'web';
const CACHE_BOUND = 1;
const label = `u${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`;
let platform: Platform | undefined;
let engine: EngineApi | undefined;
let deploymentId = '';

function dockerApp(page: string): Record<string, string> {
  return {
    Dockerfile: `FROM ${BASE}\nCOPY www /www\nEXPOSE 8080\nCMD httpd -f -p $PORT -h /www\n`,
    'www/index.html': page,
  };
}

function p(): Platform {
  if (!platform) throw new Error('the platform did not start');
  return platform;
}

function api(): EngineApi {
  if (!engine) throw new Error('no engine client');
  return engine;
}

describe('Docker engine upkeep under slipway up', { skip }, () => {
  before(async () => {
    if (skip) return;
    // Keep the newest two releases and nothing for the time window; collect only when asked.
    // The build cache is bounded at 1 byte: the builds leave a few KB, so it is over the bound,
    // and a non-zero bound takes the engine's keep-storage path (0 would mean "prune it all").
    platform = await startPlatform({
      env: {
        SLIPWAY_RUNTIME_DRIVER: 'docker', SLIPWAY_RUNTIME_LABEL: label, SLIPWAY_WAKE_IDLE_MS: '10000',
        SLIPWAY_RETAIN_VERSIONS: '2', SLIPWAY_RETAIN_DAYS: '0', SLIPWAY_GC_INTERVAL_MS: '0', SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES: String(CACHE_BOUND),
      },
    });
    console.log(`# docker-upkeep: runtime label ${label}, home ${platform.home}`);
    engine = createEngineApi(join(platform.home, 'docker', 'docker.sock'));
    await importBusyboxImage(engine, BASE);
  });

  after(async () => {
    await engine?.close();
    if (!platform) return;
    const { home } = platform;
    const environ = (await readFile(`/proc/${platform.up.pid}/environ`, 'utf8').catch(() => '')).split('\0');
    const subnets = environ.filter((e) => /^SLIPWAY_(INSTANCE|CONTAINER)_SUBNET=/.test(e)).map((e) => e.split('=')[1]!);
    await platform.stop();
    // The engine `up` started again is the one its stop stops: nothing of it may be left.
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    const routes = (await runCommand(['ip', 'route'])).stdout;
    const left = [
      ...(await runtimeLeftovers(label)),
      ...(await runtimeLeftovers(`${label}c`)),
      ...pidsMentioning(join(home, 'docker')).map((pid) => `process ${pid}`),
      ...mountsUnder(mountinfo, home).map((point) => `mount ${point}`),
      ...cgroupDirsFor(await readFile('/proc/self/cgroup', 'utf8'), mountinfo, `slipway-docker-${label}`).filter((dir) => existsSync(dir)),
      ...subnets.filter((s) => routes.includes(s.replace('.0.0/16', '.'))).map((s) => `route in ${s}`),
    ];
    assert.deepEqual(left, [], 'stopping the platform removes its containers, its engine, and every netns, veth, nft table, route and cgroup');
  });

  async function publish(page: string): Promise<number> {
    await p().client.createDeployment({ slug: SLUG }).catch((err: unknown) => {
      if (!isSlipwayApiError(err) || err.code !== 'deployment_exists') throw err;
    });
    const result = await p().client.publish(SLUG, { files: dockerApp(page) }, { wait: true });
    const log = await p().client.getBuildLog(SLUG, result.version.version_number).catch((err: Error) => `(no build log: ${err.message})`);
    assert.equal(result.version.state, 'ready', `${JSON.stringify(result.version.error)}\n${log}`);
    deploymentId = result.deployment.id;
    return result.version.version_number;
  }

  async function served(host: string, body: string): Promise<void> {
    let last = '';
    await waitFor(async () => {
      const answer = await p().edge(host).catch((err: Error) => ({ status: 0, text: err.message }));
      last = `${answer.status} ${answer.text.slice(0, 200)}`;
      return answer.text === body;
    }, { timeoutMs: 120_000, intervalMs: 200, description: `${host} to serve ${body}` }).catch(async (err: Error) => {
      const instances = await p().client.listInstances(SLUG).catch(() => []);
      throw new Error(`${err.message}; last answer: ${last}; instances: ${JSON.stringify(instances.map((i) => [i.version_id, i.state, i.desired]))}\n${p().output().slice(-2_000)}`);
    });
  }

  /** The image id the engine has under version `n`'s tag, or null when it has none. */
  async function imageOf(n: number): Promise<string | null> {
    const ref = encodeURIComponent(`slipway/${deploymentId}:v${n}`);
    return api().json<{ Id: string }>({ method: 'GET', path: `/images/${ref}/json`, timeoutMs: 10_000 }).then((i) => i.Id, (err: Error) => {
      if (/ 404: /.test(err.message)) return null;
      throw err;
    });
  }

  async function hasImage(id: string): Promise<boolean> {
    return api().json({ method: 'GET', path: `/images/${id}/json`, timeoutMs: 10_000 }).then(() => true, (err: Error) => {
      if (/ 404: /.test(err.message)) return false;
      throw err;
    });
  }

  /** The bytes of BuildKit's cache, as the engine counts them. */
  async function cacheBytes(): Promise<number> {
    const df = await api().json<{ BuildCache?: Array<{ Size?: number }> | null }>({ method: 'GET', path: '/system/df', timeoutMs: 60_000 });
    return (df.BuildCache ?? []).reduce((sum, r) => sum + (r.Size ?? 0), 0);
  }

  async function gc(dryRun: boolean): Promise<GcReport> {
    const run = await p().cli(['gc', ...(dryRun ? ['--dry-run'] : []), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as GcReport;
    assert.equal(report.docker_error, undefined);
    return report;
  }

  test('gc removes a collected version\'s image once no container uses it, prunes the build cache, and a dry run says what would go', async () => {
    for (const n of [1, 2, 3]) assert.equal(await publish(`hello from v${n}`), n);
    await served(`${SLUG}.localhost`, 'hello from v3');
    const v1Image = await imageOf(1);
    assert.ok(v1Image, 'the engine has v1\'s image');

    const dry = await gc(true);
    assert.deepEqual(dry.versions.map((v) => v.version_number), [1]);
    assert.ok(dry.images.count >= 1 && dry.images.bytes > 0, JSON.stringify(dry.images));
    assert.ok(dry.kept_images.count >= 2, JSON.stringify(dry.kept_images));
    assert.ok(dry.build_cache.bytes > 0, `the builds left cache: ${JSON.stringify(dry.build_cache)}`);
    assert.equal(dry.build_cache.kept_bytes, CACHE_BOUND, 'a dry run keeps exactly the bound');
    assert.equal(await hasImage(v1Image), true, 'a dry run removes nothing');

    // A container using v1's image (one the platform does not manage): the engine keeps the image.
    const holder = await api().json<{ Id: string }>({
      method: 'POST', path: '/containers/create', query: { name: `${label}-holder` },
      json: { Image: v1Image, Cmd: ['sleep', '600'], Labels: { [OWNER_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' } },
    });
    try {
      await api().json({ method: 'POST', path: `/containers/${holder.Id}/start` });
      const run = await gc(false);
      assert.deepEqual(run.versions.map((v) => v.version_number), [1]);
      assert.ok(run.build_cache.bytes > 0, JSON.stringify(run.build_cache));
      // The engine's own count, not the report's: what stays is within the bound.
      assert.ok(await cacheBytes() <= CACHE_BOUND, `the build cache is pruned to its bound: ${await cacheBytes()} bytes left`);
      assert.equal(await hasImage(v1Image), true, 'an image a running container uses is not removed');
    } finally {
      await api().json({ method: 'DELETE', path: `/containers/${holder.Id}`, query: { force: true }, timeoutMs: 30_000 });
    }
    const again = await gc(false);
    assert.ok(again.images.count >= 1, JSON.stringify(again.images));
    assert.equal(await hasImage(v1Image), false, 'the collected version\'s image is gone from the engine');

    // The collected version is refused; the retained one still boots from its image; v3 serves.
    await assert.rejects(p().client.rollback(SLUG, { to: 1 }), (err: unknown) => isSlipwayApiError(err) && err.code === 'release_collected');
    assert.ok(await imageOf(2), 'a retained version keeps its image');
    await served(`v2--${SLUG}.localhost`, 'hello from v2');
    await served(`${SLUG}.localhost`, 'hello from v3');
  });

  test('a dockerd killed with SIGKILL is started again by up, and the container app is served again', async () => {
    const pidFile = join(p().home, 'docker', 'dockerd.pid');
    const before = Number((await readFile(pidFile, 'utf8')).trim());
    assert.ok(processAlive(before), 'dockerd runs');
    process.kill(before, 'SIGKILL');
    // A start may fail while what the killed one left lets go (up retries with backoff): the
    // engine that counts is the one up says is back.
    const back = await waitFor(() => /the Docker engine is back: dockerd pid (\d+)/.exec(p().output())?.[1], { timeoutMs: 120_000, description: 'up saying the engine is back' })
      .catch(async (err: Error) => {
        const log = await readFile(join(p().home, 'docker', 'dockerd.log'), 'utf8').catch(() => '');
        throw new Error(`${err.message}\nup's output:\n${p().output().slice(-3_000)}\ndockerd.log:\n${log.slice(-3_000)}`);
      });
    const after = Number(back);
    assert.notEqual(after, before);
    assert.ok(processAlive(after), 'the new dockerd runs');
    assert.equal(Number((await readFile(pidFile, 'utf8')).trim()), after, 'its pid file names it');
    assert.match(p().output(), new RegExp(`WARNING: the Docker engine \\(dockerd pid ${before}\\) exited`));
    // For the record: how many starts it took, and why a start failed.
    const failed = (await readFile(join(p().home, 'docker', 'dockerd.log'), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !/level=(info|warning|debug)|Can't add file/.test(l));
    const retries = p().output().split('\n').filter((l) => l.includes('did not start again'));
    console.log(`# docker-upkeep: ${retries.length} failed restart(s) before the engine was back; dockerd said: ${failed.slice(-3).join(' | ') || 'nothing fatal'}`);
    const ping = () => api().stream({ method: 'GET', path: '/_ping', timeoutMs: 2_000 }).then((body) => (body.resume(), true), () => false);
    await waitFor(ping, { timeoutMs: 60_000, description: 'the engine answering' });
    await served(`${SLUG}.localhost`, 'hello from v3');
  });
});
