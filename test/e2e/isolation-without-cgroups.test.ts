// A host whose cgroups cannot limit instances (cgroup v2 only and not delegatable, say; here
// forced with SLIPWAY_CGROUP_ROOT pointing at nothing): apps must still run sandboxed, as their
// own uid in their own network namespace, never as root, and the agent must say loudly that
// limits are not enforced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runtimeLeftovers, startIsolatedPlatform } from '../support/isolated-platform.js';
import type { Platform } from '../support/platform.js';

let platform: Platform;
let label: string;

/** Reports who it runs as and where, and what it can read (the control: its own file). */
const WHOAMI_JS = `
const fs = require('node:fs');
const os = require('node:os');
const tryRead = (p) => { try { fs.readFileSync(p); return 'read'; } catch (e) { return e.code; } };
require('node:http').createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    uid: process.getuid(),
    netns: fs.readlinkSync('/proc/self/ns/net'),
    addresses: Object.values(os.networkInterfaces()).flat().filter((a) => a.family === 'IPv4').map((a) => a.address),
    ownFile: tryRead('server.js'),
    rootHome: tryRead('/root/.profile'),
    writeApp: (() => { try { fs.writeFileSync('/app/owned', 'x'); return 'written'; } catch (e) { return e.code; } })(),
  }));
}).listen(Number(process.env.PORT));
`;

before(async () => {
  ({ platform, label } = await startIsolatedPlatform({ limits: false, env: { SLIPWAY_CGROUP_ROOT: '/nonexistent/cgroup' } }));
});
after(async () => {
  await platform?.stop();
  if (label) assert.deepEqual(await runtimeLeftovers(label), [], 'stopping the platform removes every netns, veth and nft table');
});

test('without usable cgroups an app still runs sandboxed as its own uid, and the agent says limits are off', async () => {
  const agentLog = await readFile(join(platform.home, 'logs', 'agent.log'), 'utf8').catch(() => '') + platform.output();
  assert.match(agentLog, /limits NOT ENFORCED\); WARNING: memory, CPU and pids limits are not enforced: no cgroup v1 controllers and no cgroup v2 hierarchy at \/nonexistent\/cgroup/);

  await platform.client.createDeployment({ slug: 'whoami' });
  const result = await platform.client.publish('whoami', { files: { 'server.js': WHOAMI_JS } }, {
    wait: true, runCommand: 'node server.js', port: 3000, settings: { health_interval_ms: 200, health_grace_period_ms: 15_000 },
  });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  const res = await platform.edge('whoami.localhost', '/');
  assert.equal(res.status, 200, res.text);
  const r = JSON.parse(res.text) as { uid: number; netns: string; addresses: string[]; ownFile: string; rootHome: string; writeApp: string };

  assert.equal(r.ownFile, 'read', 'control: the app reads its own files');
  assert.notEqual(r.uid, 0, 'never root');
  assert.notEqual(r.uid, process.getuid?.(), 'not Slipway\'s user either');
  assert.notEqual(r.netns, readlinkSync('/proc/self/ns/net'), 'its own network namespace');
  assert.ok(r.addresses.some((a) => /^10\./.test(a)) && !r.addresses.some((a) => a !== '127.0.0.1' && !/^10\./.test(a)), JSON.stringify(r.addresses));
  assert.equal(r.rootHome, 'ENOENT', 'the host\'s files are not in its root');
  assert.equal(r.writeApp, 'EROFS', 'its release is read-only');
  for (const c of ['memory', 'pids', 'cpu']) {
    assert.equal(existsSync(`/sys/fs/cgroup/${c}/slipway/${label}`), false, `no ${c} cgroup was made`);
  }

  // The deployment and its instances say so too, not only the agent's log.
  const dep = await platform.client.getDeployment('whoami');
  assert.equal(dep.warnings.length, 1, JSON.stringify(dep.warnings));
  assert.match(dep.warnings[0]!, /limits are not enforced for its instances: .*no cgroup v2 hierarchy at \/nonexistent\/cgroup/);
  const [instance] = (await platform.client.listInstances('whoami')).filter((i) => i.state === 'healthy');
  assert.ok(instance, 'a healthy instance');
  assert.equal(instance.limits_enforced, false);
  assert.match(instance.unenforced_limits_reason ?? '', /no cgroup v2 hierarchy/);
  const status = await platform.cli(['deployments', 'status', 'whoami']);
  assert.match(status.stdout, /Warning: +memory, CPU and pids limits are not enforced/);
});
