/**
 * Debian's `pebble` ACME test server for tests, with a DNS server on loopback (dns-server.ts)
 * that answers every A question with 127.0.0.1 unless a test says otherwise, so pebble's HTTP-01
 * validation reaches `httpPort` on loopback whatever host name is ordered. Pebble's own HTTPS listener gets a throwaway self-signed
 * certificate made here (Debian ships no test certificate); that file is what a client trusts
 * for the directory (SLIPWAY_ACME_CA_FILE). `stop()` ends both servers and removes the files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/util/wait-for.js';
import { startTestDns, type TestDns } from './dns-server.js';
import { freePort } from './platform.js';

/** Where Debian installs pebble (`apt-get install pebble`). */
export const PEBBLE_BIN = '/usr/bin/pebble';

/** A running pebble. */
export interface Pebble {
  /** The ACME directory URL (`https://127.0.0.1:<port>/dir`). */
  directoryUrl: string;
  /** PEM file of the certificate pebble's HTTPS listeners present: trust it for the directory. */
  caFile: string;
  /** The root that signs the certificates pebble issues (from its management `/roots/0`). */
  issuingRoot(): Promise<string>;
  /** Everything pebble logged so far (one line per request it handled, orders included). */
  output(): string;
  /** How many new orders pebble accepted so far, counted from its log. */
  ordersPlaced(): number;
  /** The loopback DNS server, `127.0.0.1:<port>` (SLIPWAY_DNS_SERVERS for ownership checks). */
  dnsServer: string;
  /** Its records: TXT records to publish, `setA(name, null)` for a name that must not resolve. */
  dns: TestDns;
  stop(): Promise<void>;
}

/** Options for {@link startPebble}. */
export interface PebbleOptions {
  /** The port pebble connects to for HTTP-01 (the edge's HTTP port, or a test's own server). */
  httpPort: number;
  /** Lifetime of issued certificates in seconds (pebble ≥ 2.4's `certificateValidityPeriod`). */
  certificateValiditySeconds?: number;
}

/** Starts the DNS server and pebble; resolves once the directory answers. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  if (!pebbleInstalled()) throw new Error(`pebble is not installed at ${PEBBLE_BIN}: apt-get install pebble`);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-pebble-'));
  let dns: TestDns | undefined;
  let child: ChildProcess | undefined;
  let out = '';
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await dns?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    dns = await startTestDns({ everyA: '127.0.0.1' });
    const caFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=pebble test listener', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', caFile,
    ], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    const port = await freePort();
    const managementPort = await freePort();
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: caFile, privateKey: keyFile, httpPort: options.httpPort, tlsPort: await freePort(),
        ocspResponderURL: '', externalAccountBindingRequired: false,
        ...(options.certificateValiditySeconds ? { certificateValidityPeriod: options.certificateValiditySeconds } : {}),
      },
    };
    const configFile = join(dir, 'pebble.json');
    await writeFile(configFile, JSON.stringify(config));
    child = spawn(PEBBLE_BIN, ['-config', configFile, '-dnsserver', dns.server], {
      // No random sleeps in validation, no nonce rejections, and no reuse of a valid
      // authorization (50% by default): every order must prove the challenge again.
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const ca = await readFile(caFile, 'utf8');
    const agent = new Agent({ ca });
    const directoryUrl = `https://127.0.0.1:${port}/dir`;
    await waitFor(async () => spawnError !== undefined || child!.exitCode !== null || (await get(directoryUrl, agent)).length > 0, {
      timeoutMs: 15_000, description: 'pebble directory',
    });
    if (spawnError) throw new Error(`pebble did not start: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`pebble exited:\n${out}`);
    return {
      directoryUrl, caFile, dns, dnsServer: dns.server,
      issuingRoot: () => get(`https://127.0.0.1:${managementPort}/roots/0`, agent),
      output: () => out,
      ordersPlaced: () => out.split('\n').filter((line) => /There are now \d+ orders in the db/.test(line)).length,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function get(url: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

/** True when pebble is installed; tests that need it fail loudly without it instead of skipping. */
export function pebbleInstalled(): boolean {
  return spawnSync(PEBBLE_BIN, ['-h'], { stdio: 'ignore' }).error === undefined;
}
