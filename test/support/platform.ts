/**
 * Starts the real platform for end-to-end tests the way `npm run up` does: `slipway up` as a
 * child process, which starts the server, the edge and the agent, on free ports in a temp
 * SLIPWAY_HOME. Everything is stopped and removed by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '../../src/sdk/index.js';
import type { SlipwayClient } from '../../src/sdk/index.js';
import { claimHostValue } from './host-claims.js';
import { copyPgliteTemplate, createTestDatabase, testDatabaseUrl } from './test-store.js';
import { waitFor } from '../../src/util/wait-for.js';
import { DEFAULT_REMAP_RANGE } from '../../src/runtime/docker/engine-userns.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const mainTs = join(repoRoot, 'src', 'main.ts');

/** A free TCP port on loopback (closed again, so there is a small window for a race). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** An answer from the edge. */
export interface EdgeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** A running platform. */
export interface Platform {
  home: string;
  apiUrl: string;
  apiPort: number;
  httpPort: number;
  /** The edge's HTTPS port (SLIPWAY_HTTPS_PORT; `up` would take 8443, shared by every test). */
  httpsPort: number;
  token: string;
  internalToken: string;
  client: SlipwayClient;
  /** The `slipway up` process. */
  up: ChildProcess;
  /** Everything `up` printed so far. */
  output(): string;
  /** GET (or another method) through the edge with the given Host header. */
  edge(host: string, path?: string, headers?: Record<string, string>): Promise<EdgeAnswer>;
  /** Runs the CLI as a separate process against this platform. */
  cli(args: string[], options?: { cwd?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The pid of a child process, read from its lock file (server) or up's children. */
  serverPid(): Promise<number>;
  stop(): Promise<void>;
}

/** Options for {@link startPlatform}. */
export interface PlatformOptions {
  env?: Record<string, string>;
  /** Reuse a home (its db is kept) instead of a new temp one. */
  home?: string;
}

/**
 * A random SLIPWAY_INSTANCE_UID_BASE for a test or bench home: one of 10000 bases of 1000 uids
 * from 1100000, never inside Docker's remap range (container root is host uid 3000000), which
 * a docker platform's config refuses and which would share uids with containers. The bases
 * from the range's start on move up by 100000, past its 65536 ids.
 */
export function randomInstanceUidBase(): number {
  const base = 1_100_000 + randomInt(0, 10_000) * 1000;
  return base + 1000 > DEFAULT_REMAP_RANGE.start ? base + 100_000 : base;
}

/** Starts `slipway up` and waits until it says it is up. */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const home = options.home ?? (await mkdtemp(join(tmpdir(), 'slipway-e2e-')));
  const ownsHome = !options.home;
  let dropDatabase: (() => Promise<void>) | undefined;
  const instanceNet = claimHostValue('instance-subnet', 100, 200);
  const buildNet = claimHostValue('build-subnet', 200, 250);
  // A docker platform's containers get a /16 of their own (10.20-49.x, apart from the others).
  const docker = options.env?.SLIPWAY_RUNTIME_DRIVER === 'docker';
  const containerNet = docker ? claimHostValue('container-subnet', 20, 50) : null;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    SLIPWAY_HOME: home,
    SLIPWAY_LOG_LEVEL: 'warn',
    // A test platform leaves nothing behind when it stops: its apps and edge go with `up`
    // (a test that proves they outlive it sets this to '0' and cleans up itself).
    SLIPWAY_UP_STOP_APPS: '1',
    // Platforms of test files running side by side must not share build users: each server
    // kills every process of its build uids after a build.
    SLIPWAY_BUILD_UID_BASE: String(200_000 + randomInt(0, 50_000) * 16),
    // Nor instance users, addresses or host names (netns, interfaces, cgroups, firewall table).
    SLIPWAY_INSTANCE_UID_BASE: String(randomInstanceUidBase()),
    SLIPWAY_INSTANCE_SUBNET: `10.${instanceNet.value}.0.0/16`,
    // And build networks (their own /30s, blackhole route and firewall table).
    SLIPWAY_BUILD_SUBNET: `10.${buildNet.value}.0.0/16`,
    SLIPWAY_RUNTIME_LABEL: `t${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`,
    ...(containerNet ? { SLIPWAY_CONTAINER_SUBNET: `10.${containerNet.value}.0.0/16` } : {}),
    ...options.env,
  };
  delete env.SLIPWAY_API_URL;
  delete env.SLIPWAY_TOKEN;
  if (testDatabaseUrl && !env.SLIPWAY_DATABASE_URL) {
    const db = await createTestDatabase();
    env.SLIPWAY_DATABASE_URL = db.url;
    dropDatabase = db.drop;
  } else if (ownsHome && !testDatabaseUrl) {
    await mkdir(home, { recursive: true });
    await copyPgliteTemplate(join(home, 'db'));
  }
  const apiPort = Number(env.SLIPWAY_API_PORT ?? (await freePort()));
  const httpPort = Number(env.SLIPWAY_HTTP_PORT ?? (await freePort()));
  env.SLIPWAY_API_PORT = String(apiPort);
  env.SLIPWAY_HTTP_PORT = String(httpPort);
  const httpsPort = Number(env.SLIPWAY_HTTPS_PORT ?? (await freePort()));
  env.SLIPWAY_HTTPS_PORT = String(httpsPort);
  const up = spawn(process.execPath, ['--import', 'tsx', mainTs, 'up'], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  up.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => up.once('exit', () => resolve()));
  const cleanup = async () => {
    if (up.exitCode === null && up.signalCode === null) {
      up.kill('SIGTERM');
      // A docker platform also stops its containers and its engine (dockerd's own grace).
      await Promise.race([exited, new Promise((r) => setTimeout(r, docker ? 45_000 : 15_000))]);
      if (up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
    }
    await dropDatabase?.().catch(() => undefined);
    if (ownsHome) await rm(home, { recursive: true, force: true });
    // Only once the platform is gone, with its routes and addresses.
    instanceNet.release();
    buildNet.release();
    containerNet?.release();
  };
  try {
    await waitFor(() => out.includes('Slipway is up.') || up.exitCode !== null, { timeoutMs: 120_000, description: 'slipway up' });
    if (!out.includes('Slipway is up.')) throw new Error(`slipway up failed:\n${out}`);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const credentials = JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8')) as { api_url: string; token: string };
  const internalToken = (await readFile(join(home, 'internal-token'), 'utf8')).trim();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  return {
    home, apiUrl, apiPort, httpPort, httpsPort, token: credentials.token, internalToken, up,
    client: createClient({ baseUrl: apiUrl, token: credentials.token }),
    output: () => out,
    edge: (host, path = '/', headers = {}) => edgeRequest(httpPort, host, { path, headers }),
    cli: (args, o = {}) => runCliProcess(args, { ...env, SLIPWAY_HOME: home }, o.cwd),
    serverPid: async () => Number((await readFile(join(home, 'server.lock'), 'utf8')).trim()),
    stop: cleanup,
  };
}

/** One request to the edge on loopback with an explicit Host header. */
export function edgeRequest(port: number, host: string, options: { path?: string; headers?: Record<string, string>; method?: string } = {}): Promise<EdgeAnswer> {
  const { path = '/', headers = {}, method = 'GET' } = options;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function runCliProcess(args: string[], env: Record<string, string>, cwd = repoRoot): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
