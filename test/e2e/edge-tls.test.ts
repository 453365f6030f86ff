// HTTPS through a real platform (`slipway up`, as `npm run up` runs it) with no setup: the local
// CA it wrote is the only trusted root, and a static site, a dynamic app (HTTP/1.1 and HTTP/2,
// a body over HTTP/2, `X-Forwarded-Proto: https`) and a WebSocket over TLS all work. Hosts
// under `localhost` get a certificate of their own on their first handshake (no client accepts
// `*.localhost`); an SNI name nobody serves gets the neutral placeholder and breaks nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect as connectH2, type ClientHttp2Session } from 'node:http2';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { waitFor } from '../../src/util/wait-for.js';
import { repoRoot, startPlatform, type Platform } from '../support/platform.js';
import { openWebSocket } from '../support/ws-client.js';

let platform: Platform;
let ca = '';

const ECHO_APP = `require('node:http').createServer((req, res) => {
  let size = 0;
  req.on('data', (c) => (size += c.length));
  // How many Cookie lines the app was sent, and the one value node:http makes of them.
  const cookieLines = req.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'cookie').length;
  req.on('end', () => res.end(JSON.stringify({ proto: req.headers['x-forwarded-proto'], host: req.headers.host, method: req.method, size, cookieLines, cookie: req.headers.cookie })));
}).listen(Number(process.env.PORT));
`;

before(async () => {
  platform = await startPlatform();
  ca = await readFile(join(platform.home, 'tls', 'local-ca.pem'), 'utf8');
  await platform.client.createDeployment({ slug: 'tls-site' });
  await platform.client.publish('tls-site', { files: { 'index.html': '<h1>hello over tls</h1>' } }, { wait: true });
  await platform.client.createDeployment({ slug: 'tls-app' });
  const app = await platform.client.publish('tls-app', { files: { 'server.js': ECHO_APP } }, { wait: true, runCommand: 'node server.js', port: 3000 });
  assert.equal(app.version.state, 'ready', JSON.stringify(app.version.error));
  await trusted('tls-site.localhost');
  await trusted('tls-app.localhost');
});
after(async () => {
  await platform?.stop();
});

/**
 * Waits until a handshake for `host` verifies against the local CA. A host's first handshake
 * asks the server for a certificate and waits for it at most 3 s: on a loaded machine the
 * first may still get the placeholder, and the tests are about what follows, not that race.
 */
async function trusted(host: string): Promise<void> {
  await waitFor(() => new Promise<boolean>((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port: platform.httpsPort, servername: host, ca }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  }), { timeoutMs: 30_000, description: `a certificate for ${host} from the local CA` });
}

/** GET over HTTPS/1.1 trusting only the local CA. */
function httpsGet(host: string, path = '/'): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: platform.httpsPort, servername: host, path, ca, agent: false, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/2 request (ALPN h2) trusting only the local CA. */
async function h2Request(host: string, options: { path?: string; method?: string; body?: string; headers?: Record<string, string | string[]> } = {}): Promise<{ status: number; body: string; alpn: string | undefined }> {
  const session: ClientHttp2Session = connectH2(`https://${host}:${platform.httpsPort}`, { ca, host: '127.0.0.1', servername: host } as never);
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':path': options.path ?? '/', ':method': options.method ?? 'GET', ...options.headers });
      let status = 0;
      let body = '';
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ status, body, alpn: session.alpnProtocol }));
      stream.on('error', reject);
      stream.end(options.body);
    });
  } finally {
    session.close();
  }
}

test('up prints the HTTPS URL and the local CA it trusts', () => {
  const out = platform.output();
  assert.match(out, new RegExp(`https://<slug>\\.localhost:${platform.httpsPort}`));
  assert.ok(out.includes(`curl --cacert ${join(platform.home, 'tls', 'local-ca.pem')}`));
  assert.ok(!/slipway/i.test(ca.replace(/-----[A-Z ]+-----|\s/g, '') && Buffer.from(ca.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').toString('latin1')),
    'the CA certificate never names the platform');
});

test('a static site over HTTPS/1.1 and HTTP/2 with the local CA as the only root', async () => {
  const h1 = await httpsGet('tls-site.localhost');
  assert.equal(h1.status, 200);
  assert.match(h1.body, /hello over tls/);
  assert.equal(h1.alpn, false, 'node\'s https client offers no ALPN: HTTP/1.1');
  const h2 = await h2Request('tls-site.localhost');
  assert.equal(h2.alpn, 'h2');
  assert.equal(h2.status, 200);
  assert.match(h2.body, /hello over tls/);
});

test('curl trusts the site with --cacert and --resolve', async () => {
  const run = promisify(execFile);
  const url = `https://tls-site.localhost:${platform.httpsPort}/`;
  const caFile = join(platform.home, 'tls', 'local-ca.pem');
  const { stdout } = await run('curl', ['-fsS', '--cacert', caFile, '--resolve', `tls-site.localhost:${platform.httpsPort}:127.0.0.1`, url], { cwd: repoRoot });
  assert.match(stdout, /hello over tls/);
});

test('a dynamic app over HTTPS/1.1 and HTTP/2 sees X-Forwarded-Proto https, its host, and an HTTP/2 body', async () => {
  const h1 = await httpsGet('tls-app.localhost');
  assert.equal(h1.status, 200);
  assert.deepEqual(JSON.parse(h1.body), { proto: 'https', host: 'tls-app.localhost', method: 'GET', size: 0, cookieLines: 0 });
  // HTTP/2 may send each cookie as its own field: the HTTP/1.1 app gets one Cookie line.
  const h2 = await h2Request('tls-app.localhost', { method: 'POST', body: 'x'.repeat(5000), headers: { cookie: ['a=1', 'b=2'] } });
  assert.equal(h2.status, 200);
  // An HTTP/2 client's `:authority` carries the port; it reaches the app as its Host.
  assert.deepEqual(JSON.parse(h2.body), { proto: 'https', host: `tls-app.localhost:${platform.httpsPort}`, method: 'POST', size: 5000, cookieLines: 1, cookie: 'a=1; b=2' });
  // Plain HTTP is unchanged: the app hears http.
  const plain = await platform.edge('tls-app.localhost');
  assert.equal(JSON.parse(plain.text).proto, 'http');
});

test('over HTTP/2 the app hears the host the request was routed on, and a host header naming another is refused', async () => {
  const authority = `tls-app.localhost:${platform.httpsPort}`;
  const lying = await h2Request('tls-app.localhost', { headers: { ':authority': authority, host: 'victim-of-spoofing.example' } });
  assert.equal(lying.status, 400, lying.body);
  // A host header that agrees (port and case aside) is fine, and the app hears `:authority`.
  const agreeing = await h2Request('tls-app.localhost', { headers: { ':authority': authority, host: 'TLS-APP.localhost' } });
  assert.equal(agreeing.status, 200);
  assert.equal(JSON.parse(agreeing.body).host, authority);
});

test('a WebSocket over TLS tunnels to the app', async () => {
  const serverJs = await readFile(join(repoRoot, 'test', 'fixtures', 'apps', 'ws-echo', 'server.js'), 'utf8');
  await platform.client.createDeployment({ slug: 'tls-ws' });
  const result = await platform.client.publish('tls-ws', { files: { 'server.js': serverJs } }, { wait: true, runCommand: 'node server.js', port: 3000 });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  await trusted('tls-ws.localhost');
  const ws = await openWebSocket(platform.httpsPort, 'tls-ws.localhost', { path: '/chat', tls: { ca } });
  try {
    ws.send('hello over wss');
    assert.equal(await ws.next(), 'hello over wss');
    await ws.close();
  } finally {
    ws.destroy();
  }
});

test('an SNI name nobody serves gets the neutral placeholder, and the edge goes on serving', async () => {
  const subject = await new Promise<string>((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port: platform.httpsPort, servername: 'nobody-claimed.example.com', rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(`${cert.subject.CN} / ${cert.issuer.CN}`);
    });
    socket.on('error', reject);
  });
  assert.equal(subject, 'invalid / invalid', 'self-signed, naming nobody');
  await assert.rejects(httpsGet('nobody-claimed.localhost'), /self[- ]signed|unable to verify|certificate/i);
  assert.equal((await httpsGet('tls-site.localhost')).status, 200);
  const log = await readFile(join(platform.home, 'logs', 'edge.log'), 'utf8').catch(() => '');
  // The edge's own logger writes level names (logger.ts); pino's numbers are matched too.
  assert.ok(!/"level":(?:"error"|"fatal"|50|60)|edge request failed/.test(log), `the edge logged an error:\n${log.slice(-2000)}`);
});
