import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { createCa, issueServerCertificate } from './x509-issue.js';

/** Whether a TLS client trusting only `caPem` accepts a server presenting a leaf for `host`. */
async function trusts(caPem: string, leaf: { certPem: string; keyPem: string }, host: string): Promise<string> {
  const server = createServer({ key: leaf.keyPem, cert: leaf.certPem });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: host, ca: caPem }, () => {
        socket.destroy();
        resolve('trusted');
      });
      socket.on('error', (err) => resolve(err.message));
    });
  } finally {
    server.close();
  }
}

test('a CA constrained to a domain is trusted for names under it and refused for any other', async () => {
  const ca = await createCa('apps.example.test local CA', 30, 'apps.example.test');
  const inside = await issueServerCertificate(ca, ['*.apps.example.test', 'apps.example.test'], 1);
  assert.equal(await trusts(ca.certPem, inside, 'shop.apps.example.test'), 'trusted');
  const outside = await issueServerCertificate(ca, ['bank.example.com'], 1);
  assert.match(await trusts(ca.certPem, outside, 'bank.example.com'), /subtree violation/);
});
