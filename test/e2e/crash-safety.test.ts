// kill -9 of the server at any point of a publish: after the restart the version is promoted
// or failed with a reason, the previous version was served all along, no half-written blob.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPlatform, type Platform } from '../support/platform.js';
import { waitFor } from '../../src/util/wait-for.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
  await platform.client.createDeployment({ slug: 'sturdy' });
  await platform.client.publish('sturdy', { files: { 'index.html': 'stable' } }, { wait: true });
  await waitFor(async () => (await platform.edge('sturdy.localhost')).text === 'stable', { description: 'v1 served' });
});
after(async () => platform?.stop());

/** Polls the edge in the background and records every answer that is not the expected one. */
function watchEdge(accept: (text: string, status: number) => boolean) {
  const bad: string[] = [];
  let running = true;
  let count = 0;
  const loop = (async () => {
    while (running) {
      try {
        const r = await platform.edge('sturdy.localhost');
        count++;
        if (!accept(r.text, r.status)) bad.push(`${r.status} ${r.text.slice(0, 80)}`);
      } catch (err) {
        bad.push(String(err));
      }
    }
  })();
  return { stop: async () => ((running = false), await loop, { bad, count }) };
}

async function serverRestarted(oldPid: number): Promise<number> {
  return waitFor(async () => {
    const pid = await platform.serverPid().catch(() => 0);
    if (!pid || pid === oldPid) return 0;
    const res = await fetch(`${platform.apiUrl}/api/v1/healthz`).catch(() => undefined);
    return res?.ok ? pid : 0;
  }, { timeoutMs: 60_000, description: 'the supervisor to restart the server' });
}

test('kill -9 during a build: the edge keeps serving, the restarted server finishes the version', async () => {
  const watcher = watchEdge((text, status) => status === 200 && (text === 'stable' || text === 'rebuilt'));
  const accepted = await platform.client.publish('sturdy', { files: { 'index.html': 'rebuilt' } }, {
    buildCommand: 'sleep 2; mkdir -p out; cp index.html out/', outputPath: 'out',
  });
  await waitFor(async () => (await platform.client.getVersion('sturdy', accepted.version.id)).state === 'building', { description: 'building' });
  const pid = await platform.serverPid();
  process.kill(pid, 'SIGKILL');
  assert.equal((await platform.edge('sturdy.localhost')).text, 'stable', 'the edge serves while the server is dead');
  await serverRestarted(pid);
  const version = await waitFor(async () => {
    const v = await platform.client.getVersion('sturdy', accepted.version.id);
    return v.state === 'ready' || v.state === 'failed' ? v : undefined;
  }, { timeoutMs: 60_000, description: 'the interrupted version to finish' });
  assert.equal(version.state, 'ready');
  await waitFor(async () => (await platform.edge('sturdy.localhost')).text === 'rebuilt', { description: 'rebuilt served' });
  const { bad, count } = await watcher.stop();
  assert.deepEqual(bad, [], `${bad.length} bad answers of ${count}`);
  const events = await platform.client.listEvents('sturdy', { limit: 100 });
  assert.ok(events.data.some((e) => e.type === 'version.building' && /interruption/.test(e.reason ?? '')), 'the restart is an event');
});

test('kill -9 at random points of publishes never leaves a version stuck or a blob half-written', async () => {
  const watcher = watchEdge((_text, status) => status === 200);
  for (let round = 0; round < 4; round++) {
    const publishing = platform.client
      .publish('sturdy', { files: { 'index.html': `round ${round}`, 'big.txt': 'x'.repeat(500_000 + round) } }, { wait: true })
      .catch(() => undefined);
    // Deliberately a fixed, growing delay: each round kills the server at a different point of
    // its publish; there is no event to wait for, the point is to not choose one.
    await new Promise((r) => setTimeout(r, 20 + round * 40));
    const pid = await platform.serverPid();
    process.kill(pid, 'SIGKILL');
    await publishing;
    await serverRestarted(pid);
  }
  await waitFor(async () => {
    const versions = await platform.client.listVersions('sturdy', { limit: 100 });
    return versions.data.every((v) => v.state === 'ready' || v.state === 'failed');
  }, { timeoutMs: 60_000, description: 'no version left queued or building' });
  const versions = await platform.client.listVersions('sturdy', { limit: 100 });
  for (const v of versions.data.filter((x) => x.state === 'failed')) assert.ok(v.error?.message, `failed v${v.version_number} says why`);
  const dep = await platform.client.getDeployment('sturdy');
  const active = await platform.edge('sturdy.localhost');
  assert.equal(active.status, 200);
  assert.ok(dep.active_version_number, 'a version is active');
  // Every visible blob matches its name: temp files never become blobs.
  const root = join(platform.home, 'blobs', 'sha256');
  for (const dir of await readdir(root)) {
    for (const name of await readdir(join(root, dir))) {
      const sha = createHash('sha256').update(await readFile(join(root, dir, name))).digest('hex');
      assert.equal(sha, name);
    }
  }
  const { bad } = await watcher.stop();
  assert.deepEqual(bad, []);
});

test('a second slipway up on the same home refuses clearly', async () => {
  const second = await platform.cli(['up']);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr + second.stdout, /already running/);
});
