/**
 * Random request heads, header mixes and upgrade sequences on raw sockets against a real edge
 * serving a static site and a dynamic app. Whatever arrives, the edge answers with well-formed
 * HTTP (or closes cleanly) without hanging or stalling, and the app never sees a request whose
 * Host or forwarding headers are the client's say-so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import fc from 'fast-check';
import { fuzzParams } from '../../test/support/fuzz.js';
import { defer, startEdge, tempDir, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { MALFORMED_HOST, normalizeHost } from './route-table.js';
import { dynamicRoute, startUpstream } from '../../test/support/edge/upstream-fixtures.js';

/** Values only a client would send: seeing one upstream means the edge passed a claim on. */
const FORGED = ['forged.example', '6.6.6.6'];

const HOSTS = [
  'app.localhost', 'APP.localhost:8080', 'v1--app.localhost', 'site.localhost', 'forged.example', 'app.localhost:abc',
  'app.localhost:99999', '', '[::1]:80', 'app.localhost.', 'app.local host',
];
/** Headers that leave a request well-formed: claims, upgrades, connection options. */
const HEADERS: Array<[string, string]> = [
  ['Upgrade', 'websocket'], ['Upgrade', 'h2c'], ['Connection', 'Upgrade'], ['Connection', 'close'],
  ['Connection', 'keep-alive'], ['Connection', 'Upgrade, close'], ['Connection', 'x-forwarded-for'],
  ['X-Forwarded-For', '6.6.6.6'], ['X-Forwarded-Host', 'forged.example'], ['X-Forwarded-Proto', 'https'],
  ['Forwarded', 'for=6.6.6.6;host=forged.example'], ['X-Real-IP', '6.6.6.6'], ['X-Forwarded-Port', '6666'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13'], ['Expect', '100-continue'],
  ['Accept-Encoding', 'gzip'],
];
/** Body framing, valid and not, alone and mixed. */
const FRAMING: Array<[string, string]> = [
  ['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'gzip, chunked'], ['Transfer-Encoding', 'identity'],
  ['Content-Length', '0'], ['Content-Length', '5'], ['Content-Length', '-1'], ['Content-Length', 'abc'],
];

const requestArb = fc.record({
  method: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('GET', 'POST') },
    { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'FOO') },
  ),
  target: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('/', '/ws', '/ws/chat', '/index.html', '/app.js?x=1') },
    { weight: 1, arbitrary: fc.constantFrom('*', 'http://forged.example/', '/%2e%2e/x', '//x') },
  ),
  version: fc.oneof(
    { weight: 6, arbitrary: fc.constant('HTTP/1.1') },
    { weight: 2, arbitrary: fc.constant('HTTP/1.0') },
    { weight: 1, arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/2.0') },
  ),
  // Mostly one Host naming a route, so requests get past the checks often enough to matter.
  hosts: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<string[]>(['app.localhost'], ['v1--app.localhost'], ['site.localhost']) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...HOSTS), { minLength: 0, maxLength: 2 }) },
  ),
  upgrade: fc.constantFrom(null, null, 'websocket', 'foo'),
  headers: fc.array(fc.constantFrom(...HEADERS), { maxLength: 5 }),
  framing: fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as Array<[string, string]>) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...FRAMING), { minLength: 1, maxLength: 2 }) },
  ),
  body: fc.constantFrom('', '', 'hello', '5\r\nhello\r\n0\r\n\r\n', '\x81\x85\x01\x02\x03\x04ijklm'),
});
type FuzzRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function encode(r: FuzzRequest): string {
  let text = `${r.method} ${r.target} ${r.version}\r\n`;
  for (const host of r.hosts) text += `Host: ${host}\r\n`;
  if (r.upgrade !== null) text += `Upgrade: ${r.upgrade}\r\nConnection: Upgrade\r\n`;
  for (const [name, value] of [...r.headers, ...r.framing]) text += `${name}: ${value}\r\n`;
  return `${text}\r\n${r.body}`;
}

const caseArb = fc.record({
  requests: fc.array(requestArb, { minLength: 1, maxLength: 3 }),
  /** Where the bytes are split into two writes (a fraction of their length), or none. */
  split: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

/**
 * Checks `data` is a sequence of well-formed responses, framed by Content-Length, chunked, or
 * the close; a 101 ends the HTTP part (the rest is the tunnel's).
 */
function assertWellFormed(data: Buffer): void {
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    assert.ok(end !== -1, `an incomplete response head at ${at}: ${JSON.stringify(data.subarray(at, at + 80).toString('latin1'))}`);
    const head = data.subarray(at, end).toString('latin1');
    const match = /^HTTP\/1\.1 ([1-5]\d\d) [^\r\n]*/.exec(head);
    assert.ok(match !== null, `a status line: ${JSON.stringify(head.slice(0, 80))}`);
    const status = Number(match[1]);
    at = end + 4;
    if (status === 101) return;
    if (status === 100) continue;
    assert.ok(status >= 200, `status ${status}`);
    const length = /\r\ncontent-length: *(\d+)\r?/i.exec(`${head}\r\n`);
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const line = data.indexOf('\r\n', at);
        assert.ok(line !== -1, 'a chunk size line');
        const size = Number.parseInt(data.subarray(at, line).toString('latin1'), 16);
        assert.ok(Number.isInteger(size) && size >= 0, 'a chunk size');
        at = line + 2 + size + 2;
        if (size === 0) break;
      }
      assert.ok(at <= data.length, 'the whole chunked body');
    } else if (length !== null) {
      at += Number(length[1]);
      assert.ok(at <= data.length, 'the whole body');
    } else {
      return;
    }
  }
}

/** An app that records what reaches it, counts the answers it gave, and switches protocols on /ws. */
async function startRecordingApp(t: Parameters<typeof startUpstream>[0]) {
  let answered = 0;
  const app = await startUpstream(t, (req, res) => {
    // Answers once the whole request arrived: a request cut mid-body gets no answer to lose.
    // Some answers are slow, so that pipelined ones must be kept in order by the edge.
    req.resume();
    req.once('end', () => {
      res.once('finish', () => answered++);
      setTimeout(() => res.end('dynamic'), req.url?.includes('?') === true ? 20 : 0);
    });
  });
  const tunnels = new Set<Duplex>();
  defer(t, () => tunnels.forEach((s) => s.destroy()));
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    app.seen.push(req);
    tunnels.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => tunnels.delete(socket));
    if (req.url?.startsWith('/ws') !== true) {
      socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno');
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    // Echo until the client ends, then end too.
    socket.pipe(socket);
  });
  return { ...app, answered: () => answered };
}

/** What the app must see on every request: the edge's own claims, one Host naming the route. */
function assertFromEdge(req: IncomingMessage): void {
  const raw = req.rawHeaders;
  const hosts = raw.filter((_v, i) => i % 2 === 0 && raw[i]?.toLowerCase() === 'host');
  assert.equal(hosts.length, 1, 'one Host');
  const host = normalizeHost(req.headers.host);
  assert.ok(host !== MALFORMED_HOST && (host === 'app.localhost' || host === 'v1--app.localhost'), `the routed Host, not ${req.headers.host}`);
  assert.equal(req.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(req.headers['x-forwarded-proto'], 'http');
  assert.equal(req.headers['x-forwarded-host'], req.headers.host);
  assert.equal(req.headers.forwarded, undefined);
  assert.equal(req.headers['x-real-ip'], undefined);
  assert.equal(req.headers['x-forwarded-port'], undefined);
  assert.ok(req.url?.startsWith('/'), 'an origin-form target');
  for (const forged of FORGED) assert.ok(!raw.join('\n').includes(forged), `no client claim (${forged}) reaches the app`);
}

/**
 * Ends a connection that is still HTTP after the case: answered, then closed. Bytes before it
 * that left the parser mid-message make it garbage, which must end in a 400 and a close too.
 */
const LAST = 'GET /_slipway/health HTTP/1.1\r\nHost: site.localhost\r\nConnection: close\r\n\r\n';

/**
 * Sends `bytes` (in one or two writes) and then {@link LAST}; returns what came back once the
 * edge closed the connection. A tunnel (101) is ended by the client once it is open.
 */
async function exchange(port: number, bytes: Buffer, split: number | undefined): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  let data = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => {
    data = Buffer.concat([data, c]);
    if (data.includes('HTTP/1.1 101 ')) socket.end();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const at = split === undefined ? bytes.length : Math.floor(split * bytes.length);
    socket.write(bytes.subarray(0, at));
    socket.write(Buffer.concat([bytes.subarray(at), Buffer.from(LAST)]));
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer or close within 5 s; got ${JSON.stringify(data.toString('latin1'))}`)), 5_000);
    });
    await Promise.race([closed, hang]).finally(() => clearTimeout(timer));
    return data;
  } finally {
    socket.destroy();
  }
}

/**
 * Watches for the event loop being blocked by work: a gap between 10 ms ticks of over 100 ms in
 * which this process also used the CPU (a gap without CPU use is another process's, on a busy
 * machine, not a stall of ours).
 */
function watchEventLoop(): { stop(): number } {
  let worst = 0;
  let last = performance.now();
  let cpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage(cpu);
    const gap = now - last;
    if (gap > 100 && (used.user + used.system) / 1000 > gap * 0.8) worst = Math.max(worst, gap);
    last = now;
    cpu = process.cpuUsage();
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return worst;
    },
  };
}

test('random requests, header mixes and upgrades: well-formed answers, no hang, no client claims upstream', async (t) => {
  const fake = await withFake(t);
  const site = versionRelease(1);
  fake.blobs.set(site.sha256, site.tar);
  fake.upsert(testRoute('site', [site.sha256]));
  const app = await startRecordingApp(t);
  fake.upsert(dynamicRoute('app', [[app.address]]));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);

  const loop = watchEventLoop();
  defer(t, () => void loop.stop());
  const rssBefore = process.memoryUsage().rss;
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ requests, split }) => {
      const seenBefore = app.seen.length;
      const answeredBefore = app.answered();
      const data = await exchange(port, Buffer.from(requests.map(encode).join(''), 'latin1'), split);
      try {
        assertWellFormed(data);
        for (const req of app.seen.slice(seenBefore)) assertFromEdge(req);
        const delivered = data.toString('latin1').split('dynamic').length - 1;
        assert.equal(delivered, app.answered() - answeredBefore, 'every answer the app gave reached the client');
      } catch (err) {
        throw new Error(`${(err as Error).message}; the client got ${JSON.stringify(data.toString('latin1'))}`, { cause: err });
      }
    }),
    // A hang costs 5 s a case: shrinking one must still end well within the test timeout.
    { ...fuzzParams(30), interruptAfterTimeLimit: 120_000, markInterruptAsFailure: true },
  );
  const blocked = loop.stop();
  assert.equal(blocked, 0, `the event loop was blocked for ${blocked.toFixed(0)} ms`);
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 128 * 2 ** 20, `memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
});
