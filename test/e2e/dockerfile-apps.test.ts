// Dockerfile apps on a real platform with SLIPWAY_RUNTIME_DRIVER=docker: `slipway up` starts its
// own Docker engine, a folder with a Dockerfile publishes with no flags (BuildKit builds it into
// an image, the image is the release), the container serves through the edge, and what users
// rely on for dynamic apps holds for it: a new version, a rollback (no build), a killed
// container restarted, an old version booted on demand, an image the engine lost loaded back
// from blob storage. File-tree apps keep running on the local driver beside it. Once stopped,
// nothing of the platform is left on the host. No registry is reachable: the base image is made
// here (busybox-static) and imported into the platform's engine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayApiError, type RuntimeInstance } from '../../src/sdk/index.js';
import { createEngineApi, type EngineApi } from '../../src/runtime/docker/engine-api.js';
import { cgroupDirsFor, mountsUnder, pidsMentioning } from '../../src/runtime/docker/engine-host.js';
import { runCommand } from '../../src/util/child-process.js';
import { waitFor } from '../../src/util/wait-for.js';
import { dockerSkipReason, importBusyboxImage } from '../support/docker-engine.js';
import { runtimeLeftovers } from '../support/isolated-platform.js';
import { startPlatform, type Platform } from '../support/platform.js';

// Only a missing dockerd skips (loudly); a host that cannot isolate fails in `before`, as the
// other isolation tests do.
const skip = dockerSkipReason() ?? false;
const BASE = 'slipway-test/busybox:1';
const SLUG = 'web';
const label = `d${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`;
let platform: Platform | undefined;
let engine: EngineApi | undefined;
/** The platform's subnets, read from `up`'s environment, for the leftover check. */
let subnets: string[] = [];
/** The host uid root in the engine's build steps and containers runs as, from the agent's start line. */
let remappedRoot = 0;
/** Image id of each version of {@link SLUG}, from its running container. */
const imageOf: Record<number, string> = {};

/** A folder with a Dockerfile: busybox's httpd serving one page on the port the image names. */
function dockerApp(page: string, from = BASE): Record<string, string> {
  return {
    Dockerfile: `FROM ${from}\nCOPY www /www\nEXPOSE 8080\nCMD httpd -f -p $PORT -h /www\n`,
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

describe('a platform with SLIPWAY_RUNTIME_DRIVER=docker', { skip }, () => {
  before(async () => {
    if (skip) return;
    platform = await startPlatform({ env: { SLIPWAY_RUNTIME_DRIVER: 'docker', SLIPWAY_RUNTIME_LABEL: label, SLIPWAY_WAKE_IDLE_MS: '10000' } });
    const environ = (await readFile(`/proc/${platform.up.pid}/environ`, 'utf8')).split('\0');
    subnets = environ.filter((e) => /^SLIPWAY_(INSTANCE|CONTAINER)_SUBNET=/.test(e)).map((e) => e.split('=')[1]!);
    // Random per run: printed so a failed CI run's leftovers (interfaces, tables, cgroups) can be traced.
    console.log(`# dockerfile-apps: runtime label ${label} (containers ${label}c), subnets ${subnets.join(' ')}, home ${platform.home}`);
    const agentOutput = async () => p().output() + (await readFile(join(p().home, 'logs', 'agent.log'), 'utf8').catch(() => ''));
    const line = await waitFor(async () => /agent: driver .*/.exec(await agentOutput())?.[0], { timeoutMs: 30_000, description: 'the agent\'s driver line' });
    assert.match(line,
      /^agent: driver local\+docker \(network isolation on, sandbox on, limits on\); cgroup v\d; image releases: driver docker \(network isolation on, sandbox on, limits on, own user on\) on dockerd \d+\.\d+\S* \(pid \d+, adopted\), root remapped to host uid [1-9]\d*/,
      'these tests need root, the sandbox tools, cgroups and dockerd');
    remappedRoot = Number(/root remapped to host uid (\d+)/.exec(line)?.[1]);
    engine = createEngineApi(join(platform.home, 'docker', 'docker.sock'));
    await importBusyboxImage(engine, BASE);
  });

  after(async () => {
    await engine?.close();
    if (!platform) return;
    const { home } = platform;
    await platform.stop();
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

  /** Publishes `files` with no options and asserts the outcome, with the build log when it is not. */
  async function publish(slug: string, files: Record<string, string>, expected: 'ready' | 'failed' = 'ready') {
    await ensureDeployment(slug);
    const result = await p().client.publish(slug, { files }, { wait: true });
    const log = await p().client.getBuildLog(slug, result.version.version_number).catch((err: Error) => `(no build log: ${err.message})`);
    assert.equal(result.version.state, expected, `${slug} v${result.version.version_number}: ${JSON.stringify(result.version.error)}\n${log}`);
    return { version: result.version, log };
  }

  async function ensureDeployment(slug: string): Promise<void> {
    await p().client.createDeployment({ slug }).catch((err: unknown) => {
      if (!isSlipwayApiError(err) || err.code !== 'deployment_exists') throw err;
    });
  }

  /** GETs `host` through the edge until it answers 200 (an old version says "starting" first). */
  async function served(host: string): Promise<string> {
    return waitFor(async () => {
      const res = await p().edge(host);
      return res.status === 200 ? res.text : null;
    }, { timeoutMs: 60_000, intervalMs: 100, description: `${host} to answer 200` });
  }

  /** The deployment's running, healthy instances of one version. */
  async function healthy(versionId: string): Promise<RuntimeInstance[]> {
    return (await p().client.listInstances(SLUG)).filter((i) => i.version_id === versionId && i.desired === 'running' && i.state === 'healthy');
  }

  /** The container of an instance, as the engine sees it. */
  async function containerOf(instanceId: string): Promise<{ Id: string; Image: string; State: { Running: boolean }; Config: { User: string } }> {
    return api().json({ method: 'GET', path: `/containers/slipway-${instanceId}/json`, timeoutMs: 10_000 });
  }

  const versionIds: Record<number, string> = {};

  test('a folder with a Dockerfile publishes with no flags, is built into an image and served from a container', async () => {
    const { version, log } = await publish(SLUG, dockerApp('hello from v1'));
    versionIds[1] = version.id;
    assert.match(log, /COPY www \/www/, 'the build log is BuildKit\'s');
    assert.equal(await served(`${SLUG}.localhost`), 'hello from v1');
    const [instance] = await healthy(version.id);
    assert.ok(instance, 'a healthy instance of v1');
    const container = await containerOf(instance.id);
    assert.equal(container.State.Running, true);
    assert.match(container.Image, /^sha256:[0-9a-f]{64}$/);
    imageOf[1] = container.Image;
  });

  test('v2 replaces v1; v1 still boots on demand at v1--<slug> while v2 is live', async () => {
    const { version } = await publish(SLUG, dockerApp('hello from v2'));
    versionIds[2] = version.id;
    assert.equal(await served(`${SLUG}.localhost`), 'hello from v2');
    const [instance] = await healthy(version.id);
    imageOf[2] = (await containerOf(instance!.id)).Image;
    assert.notEqual(imageOf[2], imageOf[1]);
    // v1's instance stops once v2 is live; a request to v1 starts it again.
    await waitFor(async () => (await healthy(versionIds[1]!)).length === 0, { timeoutMs: 30_000, description: 'v1 stopped' });
    assert.equal(await served(`v1--${SLUG}.localhost`), 'hello from v1');
    assert.equal((await p().edge(`${SLUG}.localhost`)).text, 'hello from v2', 'v2 stays live');
  });

  test('a rollback to v1 serves v1 again from its image, without a build', async () => {
    const rolled = await p().client.rollback(SLUG, { to: 1 });
    assert.equal(rolled.promoted, true);
    assert.equal(await served(`${SLUG}.localhost`), 'hello from v1');
    const versions = (await p().client.listVersions(SLUG)).data;
    assert.equal(versions.length, 2, 'no new version was built');
    const [instance] = await healthy(versionIds[1]!);
    assert.equal((await containerOf(instance!.id)).Image, imageOf[1], 'the same image as v1 was built into');
  });

  test('a container removed behind the platform\'s back is started again', async () => {
    const [before] = await healthy(versionIds[1]!);
    assert.ok(before);
    const { Id } = await containerOf(before.id);
    await api().json({ method: 'DELETE', path: `/containers/${Id}`, query: { force: true }, timeoutMs: 30_000 });
    await waitFor(async () => {
      const now = (await p().client.listInstances(SLUG)).find((i) => i.id === before.id);
      return now?.state === 'healthy' && now.restart_count > before.restart_count;
    }, { timeoutMs: 30_000, intervalMs: 200, description: 'the instance restarted and healthy again' });
    assert.equal(await served(`${SLUG}.localhost`), 'hello from v1');
    assert.notEqual((await containerOf(before.id)).Id, Id, 'a new container');
  });

  /** The pid of `up`'s agent child (`… main.ts agent`). */
  async function agentPid(): Promise<number | null> {
    const { stdout } = await runCommand(['ps', '-o', 'pid=,args=', '--ppid', String(p().up.pid)]);
    const line = stdout.split('\n').find((l) => / agent$/.test(l.trim()));
    return line ? Number(line.trim().split(/\s+/)[0]) : null;
  }

  test('a killed agent is restarted and re-adopts the running container; the engine keeps running', async () => {
    const [instance] = await healthy(versionIds[1]!);
    assert.ok(instance);
    const { Id } = await containerOf(instance.id);
    const dockerd = Number((await readFile(join(p().home, 'docker', 'dockerd.pid'), 'utf8')).trim());
    const agentLog = join(p().home, 'logs', 'agent.log');
    const adoptions = async () => ((await readFile(agentLog, 'utf8').catch(() => '')).match(/from an earlier run/g) ?? []).length;
    const before = await adoptions();
    const pid = await agentPid();
    assert.ok(pid, 'the agent runs under up');
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await adoptions()) > before, { timeoutMs: 30_000, intervalMs: 100, description: 'a new agent found the instances' });
    await waitFor(async () => (await p().client.listInstances(SLUG)).find((i) => i.id === instance.id)?.state === 'healthy',
      { timeoutMs: 30_000, intervalMs: 100, description: 'the instance healthy under the new agent' });
    const now = (await p().client.listInstances(SLUG)).find((i) => i.id === instance.id)!;
    assert.equal(now.restart_count, instance.restart_count, 'not restarted');
    const container = await containerOf(instance.id);
    assert.equal(container.Id, Id, 'the same container');
    assert.equal(container.State.Running, true);
    assert.equal(Number((await readFile(join(p().home, 'docker', 'dockerd.pid'), 'utf8')).trim()), dockerd, 'the same dockerd');
    assert.equal(await served(`${SLUG}.localhost`), 'hello from v1');
  });

  test('an image the engine no longer has is loaded back from the release blob when its version starts', async () => {
    // v2 is not live since the rollback: once its instances are gone, nothing uses its image.
    await waitFor(async () => (await healthy(versionIds[2]!)).length === 0 && (await p().client.listInstances(SLUG))
      .filter((i) => i.version_id === versionIds[2]).every((i) => i.state === 'stopped' || i.state === 'failed'),
    { timeoutMs: 60_000, intervalMs: 200, description: 'v2 stopped' });
    await api().json({ method: 'DELETE', path: `/images/${imageOf[2]}`, query: { force: true }, timeoutMs: 30_000 });
    await assert.rejects(api().json({ method: 'GET', path: `/images/${imageOf[2]}/json` }), /404/, 'the image is gone from the engine');
    assert.equal(await served(`v2--${SLUG}.localhost`), 'hello from v2');
    const [instance] = await healthy(versionIds[2]!);
    assert.equal((await containerOf(instance!.id)).Image, imageOf[2], 'the same image id, loaded back');
  });

  test('a Dockerfile whose base image is not on the engine fails the build with base_image_missing', async () => {
    const { version, log } = await publish('nobase', dockerApp('never', 'slipway-test/not-there:1'), 'failed');
    assert.equal(version.error?.code, 'base_image_missing', `${JSON.stringify(version.error)}\n${log}`);
    assert.match(log, /slipway-test\/not-there:1/, 'the build log names the missing image');
  });

  /** The uids (real, effective, saved, fs) the host sees for process `pid`. */
  async function hostUids(pid: number): Promise<number[]> {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
  }

  /** Host processes whose command line holds `mark`. */
  async function processesMarked(mark: string): Promise<number[]> {
    const found: number[] = [];
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(mark)) found.push(Number(name));
    }
    return found;
  }

  test('no Dockerfile RUN step and no container runs as host root: root in them is an unprivileged host uid', async () => {
    const mark = `slipway-userns-${randomInt(0, 0xffffff).toString(16)}`;
    // The RUN step is root inside its container (it records `id -u`) and waits, bounded, until
    // the test has read its host uid and dropped the mark file in its /tmp: no race with a short step.
    const files = {
      ...dockerApp('rootless'),
      Dockerfile: `FROM ${BASE}\nCOPY www /www\nRUN id -u > /www/build-uid; i=0; while [ ! -e /tmp/${mark} ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done\n`
        + 'EXPOSE 8080\nCMD httpd -f -p $PORT -h /www\n',
    };
    const publishing = publish('rootless', files);
    let step: number | undefined;
    try {
      step = await waitFor(async () => (await processesMarked(mark))[0], { timeoutMs: 120_000, intervalMs: 100, description: 'the RUN step running' });
      const uids = await hostUids(step);
      assert.deepEqual(uids, [remappedRoot, remappedRoot, remappedRoot, remappedRoot], `the RUN step runs as host uid ${uids.join(' ')}, not the remapped root`);
    } finally {
      // Lets the step finish whatever was asserted, so the publish does not hang.
      if (step !== undefined) await writeFile(`/proc/${step}/root/tmp/${mark}`, '').catch(() => undefined);
      await publishing.catch(() => undefined);
    }
    await publishing;
    assert.equal((await waitFor(async () => {
      const res = await p().edge('rootless.localhost', '/build-uid');
      return res.status === 200 ? res.text : null;
    }, { timeoutMs: 60_000, intervalMs: 100, description: 'rootless.localhost/build-uid' })).trim(), '0', 'the control: the step was root inside its container');

    // A container whose process is root inside (Slipway's own never are: this one is made by hand).
    const name = `slipway-test-root-${mark}`;
    const created = await api().json<{ Id: string }>({
      method: 'POST', path: '/containers/create', query: { name }, timeoutMs: 30_000,
      json: { Image: BASE, User: '0', Cmd: ['sleep', '300'], Labels: { 'dev.slipway.owned': 'true' }, HostConfig: { NetworkMode: 'none' } },
    });
    try {
      await api().json({ method: 'POST', path: `/containers/${created.Id}/start`, timeoutMs: 30_000 });
      const inspected = await api().json<{ State: { Pid: number } }>({ method: 'GET', path: `/containers/${created.Id}/json`, timeoutMs: 10_000 });
      const inside = await readFile(`/proc/${inspected.State.Pid}/root/etc/passwd`, 'utf8');
      assert.match(inside, /^root:x:0:0:/m, 'the control: the pid is the container\'s process');
      const uids = await hostUids(inspected.State.Pid);
      assert.deepEqual(uids, [remappedRoot, remappedRoot, remappedRoot, remappedRoot], `a root container runs as host uid ${uids.join(' ')}`);
    } finally {
      await api().json({ method: 'DELETE', path: `/containers/${created.Id}`, query: { force: true }, timeoutMs: 30_000 });
    }
  });

  test('a static site and a file-tree app still publish and serve on the same platform (the app on the local driver)', async () => {
    await publish('site', { 'index.html': '<h1>static beside docker</h1>' });
    assert.equal(await served('site.localhost'), '<h1>static beside docker</h1>');
    await ensureDeployment('tree');
    const tree = await p().client.publish('tree', {
      files: { 'server.js': "require('node:http').createServer((q, s) => s.end('tree app')).listen(Number(process.env.PORT));\n" },
    }, { wait: true, runCommand: 'node server.js', port: 3000 });
    assert.equal(tree.version.state, 'ready', JSON.stringify(tree.version.error));
    assert.equal(await served('tree.localhost'), 'tree app');
    const [instance] = (await p().client.listInstances('tree')).filter((i) => i.state === 'healthy');
    const handle = JSON.parse(await readFile(join(p().home, 'agent', 'instances', `${instance!.id}.json`), 'utf8')) as { data: Record<string, unknown> };
    assert.equal(handle.data.mode, 'isolated', 'a file-tree release runs on the local driver, isolated');
  });
});

// Runs with or without dockerd: it is the host without one.
test('`slipway up` with SLIPWAY_RUNTIME_DRIVER=docker and no dockerd fails, saying what to install', async () => {
  let started: Platform | undefined;
  try {
    await assert.rejects(
      startPlatform({ env: { SLIPWAY_RUNTIME_DRIVER: 'docker', PATH: '/nonexistent/bin' } }).then((up) => (started = up)),
      (err: Error) => {
        assert.match(err.message, /SLIPWAY_RUNTIME_DRIVER=docker needs Docker's engine, but dockerd is not installed: install docker\.io/);
        assert.doesNotMatch(err.message, /Slipway is up/);
        return true;
      },
    );
  } finally {
    await started?.stop();
  }
});
