import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { RouteHost } from '../core/routes.js';
import { applyHostOptions } from './host-options.js';

/** Serves `options` over a real socket; the test says per request whether it "came over TLS". */
async function answer(options: RouteHost, path: string, at: boolean | { tls: boolean; httpsPort: number }): Promise<{ status: number; headers: Record<string, unknown> }> {
  const { tls, httpsPort } = typeof at === 'boolean' ? { tls: at, httpsPort: undefined } : at;
  const server = createServer((req, res) => {
    if (!applyHostOptions(req, res, { options, tls, httpsPort })) res.end('app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { host: options.name }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('https_redirect sends plain HTTP to HTTPS on the same host, and HSTS goes on HTTPS answers only', async () => {
  const secure: RouteHost = { name: 'secure.test', https_redirect: true, hsts_max_age: 600 };
  const plain = await answer(secure, '/a?b=1', false);
  assert.equal(plain.status, 308);
  assert.equal(plain.headers.location, 'https://secure.test/a?b=1');
  assert.equal(plain.headers['strict-transport-security'], undefined);
  const tls = await answer(secure, '/a', true);
  assert.equal(tls.status, 200);
  assert.equal(tls.headers['strict-transport-security'], 'max-age=600');
});

test('redirect_to keeps the scheme and path; an absolute-form target never reaches the Location', async () => {
  const apex: RouteHost = { name: 'apex.test', redirect_to: 'www.apex.test' };
  assert.equal((await answer(apex, '/p?q', false)).headers.location, 'http://www.apex.test/p?q');
  assert.equal((await answer(apex, '/p', true)).headers.location, 'https://www.apex.test/p');
  assert.equal((await answer(apex, 'http://evil.test/x', false)).headers.location, 'http://www.apex.test/');
  assert.equal((await answer({ name: 'plain.test' }, '/', false)).status, 200);
});

test('an HTTPS Location carries the edge\'s HTTPS port unless it is 443', async () => {
  const secure: RouteHost = { name: 'secure.test', https_redirect: true };
  assert.equal((await answer(secure, '/a?b=1', { tls: false, httpsPort: 8443 })).headers.location, 'https://secure.test:8443/a?b=1');
  assert.equal((await answer(secure, '/a', { tls: false, httpsPort: 443 })).headers.location, 'https://secure.test/a');
  const apex: RouteHost = { name: 'apex.test', redirect_to: 'www.apex.test' };
  assert.equal((await answer(apex, '/p', { tls: true, httpsPort: 8443 })).headers.location, 'https://www.apex.test:8443/p');
  assert.equal((await answer(apex, '/p', { tls: false, httpsPort: 8443 })).headers.location, 'http://www.apex.test/p');
});
