/**
 * Edge-level fixtures for tests (not used in production code): a started edge, a fake
 * control plane and temp state directories, all cleaned up by the test that made them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createEdgeServer, type EdgeServer, type EdgeServerConfig } from '../../../src/edge/edge-server.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { silentLogger } from '../../../src/edge/logger.js';
import { buildReleaseTar, type TestRelease, type TestResponse } from './test-helpers.js';

/** The part of node:test's context the fixtures use. */
export type After = { after(fn: () => Promise<unknown> | void): void };

const stacks = new WeakMap<After, Array<() => Promise<unknown> | void>>();

/**
 * Registers `fn` to run after the test, in reverse order of registration (node:test runs
 * `t.after` hooks first-in first-out, which would remove a state directory before the edge
 * writing to it is closed). Every cleanup runs even if an earlier one fails.
 */
export function defer(t: After, fn: () => Promise<unknown> | void): void {
  let stack = stacks.get(t);
  if (stack === undefined) {
    const fns: Array<() => Promise<unknown> | void> = [];
    stack = fns;
    stacks.set(t, fns);
    t.after(async () => {
      const errors: unknown[] = [];
      for (const cleanup of fns.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    });
  }
  stack.push(fn);
}

/** A temp directory removed after the test. */
export async function tempDir(t: After): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-server-'));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An edge on a free port with fast reconnects and retries, closed after the test. */
export async function startEdge(
  t: After,
  config: Pick<EdgeServerConfig, 'serverUrl' | 'token' | 'stateDir'> & Partial<EdgeServerConfig>,
): Promise<{ edge: EdgeServer; port: number }> {
  const edge = createEdgeServer({
    port: 0, host: '127.0.0.1', baseDomain: 'localhost', logger: silentLogger,
    reconnectMs: { min: 20, max: 200 }, loadRetryMs: { min: 20, max: 200 }, ...config,
  });
  defer(t, () => edge.close());
  const { port } = await edge.start();
  return { edge, port };
}

/** A fake control plane closed after the test. */
export async function withFake(t: After): Promise<FakeControlPlane> {
  const fake = await startFakeControlPlane();
  defer(t, () => fake.close());
  return fake;
}

/** The home page text of {@link versionRelease} N. */
export const versionPage = (n: number) => `<h1>version ${n}</h1>${'.'.repeat(4000)}`;

/** Release N: a home page naming its version (with br and gzip variants) and a script. */
export function versionRelease(n: number): TestRelease {
  return buildReleaseTar({
    'index.html': { content: versionPage(n), encodings: ['br', 'gzip'] },
    'app.js': `window.version = ${n};`,
  });
}

/** The body as text, undoing br or gzip. */
export function decodeBody(res: TestResponse): string {
  const enc = res.headers['content-encoding'];
  if (enc === 'br') return brotliDecompressSync(res.body).toString();
  if (enc === 'gzip') return gunzipSync(res.body).toString();
  return res.body.toString();
}
