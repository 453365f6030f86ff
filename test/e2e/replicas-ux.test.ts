// Two replicas of a real socket.io server (socket.io from the npm registry, installed by the
// build) used as a user would: engine.io long-polling sessions work through the edge without
// the app setting any cookie; killing one replica is an event that names it; and a deployment's
// Updated time moves with what it serves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { processTree } from '../../src/runtime/local/process-tree.js';
import { waitFor } from '../../src/util/wait-for.js';
import { killTree } from '../support/processes.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
});
after(async () => {
  await platform?.stop();
});

const SERVER_JS = `
const http = require('node:http');
const { Server } = require('socket.io');
const id = process.env.SLIPWAY_RUNTIME_INSTANCE_ID;
const server = http.createServer((req, res) => res.end('ok ' + id));
const io = new Server(server);
io.on('connection', (socket) => {
  socket.on('echo', (msg) => socket.emit('echo-reply', msg + ' from ' + id));
});
server.listen(Number(process.env.PORT));
`;

const FAST = { health_interval_ms: 200, health_timeout_ms: 2000, drain_timeout_ms: 2000 };

/** One HTTP exchange through the edge (node:http, since fetch will not send a Host header). */
function edgeCall(path: string, options: { method?: string; body?: string; cookie?: string } = {}): Promise<{ status: number; text: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: 'sockio.localhost' };
    if (options.cookie) headers.cookie = options.cookie;
    if (options.body !== undefined) headers['content-type'] = 'text/plain;charset=UTF-8';
    const req = request({ host: '127.0.0.1', port: platform.httpPort, path, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), setCookie: res.headers['set-cookie'] ?? [] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * An engine.io v4 long-polling client with a cookie jar, as a browser's socket.io client is:
 * handshake, join the default namespace, then `echo` messages and read the replies.
 */
async function pollingSession(messages: string[], jar: boolean): Promise<{ replies: string[]; failure: string | null }> {
  let cookie = '';
  const call = async (path: string, options: { method?: string; body?: string } = {}) => {
    const res = await edgeCall(path, { ...options, cookie });
    if (jar) {
      for (const c of res.setCookie) {
        const pair = c.slice(0, c.indexOf(';') === -1 ? c.length : c.indexOf(';'));
        const name = pair.slice(0, pair.indexOf('='));
        cookie = [...cookie.split('; ').filter((p) => p && !p.startsWith(`${name}=`)), pair].join('; ');
      }
    }
    return res;
  };
  const open = await call('/socket.io/?EIO=4&transport=polling');
  assert.equal(open.status, 200, open.text);
  const sid = (JSON.parse(open.text.slice(1)) as { sid: string }).sid;
  const base = `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  const replies: string[] = [];
  const steps: Array<{ post: string; expect: RegExp }> = [
    { post: '40', expect: /^40\{/ },
    ...messages.map((m) => ({ post: `42${JSON.stringify(['echo', m])}`, expect: /42\["echo-reply"/ })),
  ];
  for (const step of steps) {
    const sent = await call(base, { method: 'POST', body: step.post });
    if (sent.status !== 200) return { replies, failure: `POST ${step.post}: ${sent.status} ${sent.text}` };
    const got = await call(base);
    if (got.status !== 200) return { replies, failure: `GET: ${got.status} ${got.text}` };
    assert.match(got.text, step.expect);
    const reply = /42(\["echo-reply".*\])/.exec(got.text)?.[1];
    if (reply) replies.push((JSON.parse(reply) as string[])[1] as string);
  }
  return { replies, failure: null };
}

test('socket.io long-polling with 2 replicas works through the edge, with no cookie of the app', async () => {
  await platform.client.createDeployment({ slug: 'sockio' });
  const published = await platform.client.publish('sockio', {
    files: {
      'package.json': JSON.stringify({ name: 'sockio', private: true, dependencies: { 'socket.io': '^4.8.1' } }),
      'server.js': SERVER_JS,
    },
  }, { wait: true, buildCommand: 'npm install --no-audit --no-fund', runCommand: 'node server.js', port: 3000, settings: { ...FAST, replicas: 2 } });
  assert.equal(published.version.state, 'ready', JSON.stringify(published.version.error));
  await waitFor(async () => (await platform.client.listInstances('sockio')).filter((i) => i.state === 'healthy').length === 2,
    { timeoutMs: 20_000, description: 'two healthy replicas' });

  // The control: a client that keeps no cookies is round-robined, and its session breaks.
  const bare = await pollingSession(['hello'], false);
  assert.match(bare.failure ?? '', /Session ID unknown/, 'without affinity, 2 replicas break engine.io sessions');

  // New sessions spread over both replicas. Not "two sessions, two instances": the edge's
  // round-robin cursor starts over at every route revision (a health report can bring one), so
  // sessions in a row may land on one instance. Sessions are opened until both have answered.
  const answeredBy = new Set<string>();
  const MAX_SESSIONS = 12;
  for (let s = 0; answeredBy.size < 2; s++) {
    assert.ok(s < MAX_SESSIONS, `${MAX_SESSIONS} new sessions were all answered by ${[...answeredBy].join(', ')}: they must spread over both replicas`);
    const { replies, failure } = await pollingSession([`m${s}-1`, `m${s}-2`, `m${s}-3`], true);
    assert.equal(failure, null);
    assert.equal(replies.length, 3);
    const instances = new Set(replies.map((r) => r.split(' from ')[1]));
    assert.equal(instances.size, 1, 'one session, one instance');
    assert.match(replies[0]!, new RegExp(`^m${s}-1 from rti_`));
    answeredBy.add([...instances][0]!);
  }
});

test('killing one of two replicas is an event naming that instance, its replica number and address; `slipway events` shows it', async () => {
  const live = (await platform.client.listInstances('sockio')).filter((i) => i.desired === 'running' && i.state === 'healthy');
  assert.equal(live.length, 2);
  const victim = live[0]!;
  const handle = JSON.parse(await readFile(join(platform.home, 'agent', 'instances', `${victim.id}.json`), 'utf8')) as { data: { pid: number } };
  killTree(processTree(handle.data.pid, null));
  const event = await waitFor(async () => (await platform.client.listEvents('sockio')).data
    .find((e) => e.type === 'instance.starting' && e.data.runtime_instance_id === victim.id && e.data.restart_count === victim.restart_count + 1),
  { timeoutMs: 15_000, description: 'the restart event of the killed replica' });
  assert.equal(event.data.address, victim.address);
  assert.equal(event.data.replicas, 2);
  assert.ok(event.data.replica === 1 || event.data.replica === 2);
  assert.ok(event.reason?.startsWith(`${victim.id} (replica ${String(event.data.replica)} of 2 at ${victim.address}): `), event.reason ?? '');
  const cli = await platform.cli(['events', 'sockio']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.ok(cli.stdout.split('\n').some((l) => l.includes('instance.starting') && l.includes(victim.id) && l.includes(victim.address!)), cli.stdout);
  await waitFor(async () => (await platform.client.listInstances('sockio')).find((i) => i.id === victim.id)?.state === 'healthy',
    { timeoutMs: 15_000, description: 'the killed replica is back' });
});

test("a deployment's Updated time moves with a publish and with a rollback", async () => {
  const { client } = platform;
  await client.createDeployment({ slug: 'updtime' });
  const times = [(await client.getDeployment('updtime')).updated_at];
  const later = async (): Promise<string> => {
    // Timestamps have millisecond resolution: wait until the clock has moved past the last one.
    const last = times.at(-1)!;
    await waitFor(() => new Date().toISOString() > last, { timeoutMs: 1000, description: 'the clock moves' });
    return last;
  };
  await later();
  await client.publish('updtime', { files: { 'index.html': '<h1>one</h1>' } }, { wait: true, kind: 'static' });
  times.push((await client.getDeployment('updtime')).updated_at);
  await later();
  await client.publish('updtime', { files: { 'index.html': '<h1>two</h1>' } }, { wait: true, kind: 'static' });
  times.push((await client.getDeployment('updtime')).updated_at);
  await later();
  await client.rollback('updtime', { to: 1 });
  const rolledBack = await client.getDeployment('updtime');
  times.push(rolledBack.updated_at);
  assert.equal(rolledBack.active_version_number, 1);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `updated_at moves at step ${i}: ${times.join(' → ')}`);
  const status = await platform.cli(['deployments', 'status', 'updtime']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`Updated: +${rolledBack.updated_at.replace('T', ' ').replace(/\.\d+Z$/, '')}\\n`));
});
