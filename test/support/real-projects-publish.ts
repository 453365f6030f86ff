/**
 * Publishing the generated projects of test/support/real-projects.ts as a user does
 * (`slipway publish <dir> --wait --json`, no kind, build command or port), and reading what
 * the edge then serves.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { PublishResult } from '../../src/sdk/index.js';
import { runtimeLeftovers, startIsolatedPlatform } from './isolated-platform.js';
import type { EdgeAnswer, Platform } from './platform.js';
import type { RealProject } from './real-projects.js';

/** What one CLI publish gave: the parsed answer, the build log, and how long it took. */
export interface ProjectPublish {
  code: number;
  stderr: string;
  result: PublishResult;
  /** The version's build log ('' when there is none). */
  log: string;
  /** Wall time of the CLI run: pack, upload, build, start, promote. */
  ms: number;
}

/**
 * Health checks that see a healthy app at once; the grace stays generous because a framework
 * server's first start on a shared 2-core machine can take seconds.
 */
export const QUICK_HEALTH = ['health_interval_ms=200', 'health_timeout_ms=2000', 'drain_timeout_ms=2000'].flatMap((s) => ['--set', s]);

/** What {@link publishProject} publishes: a folder to a deployment, with extra CLI flags. */
export interface ProjectPublishOptions {
  dir: string;
  slug: string;
  extra?: string[];
}

/** `slipway publish <dir> --deployment <slug> --wait --json [...extra]`. */
export async function publishProject(platform: Platform, options: ProjectPublishOptions): Promise<ProjectPublish> {
  const { dir, slug, extra = [] } = options;
  const started = performance.now();
  const run = await platform.cli(['publish', dir, '--deployment', slug, '--wait', '--json', ...extra]);
  const ms = performance.now() - started;
  let result: PublishResult;
  try {
    result = JSON.parse(run.stdout) as PublishResult;
  } catch {
    throw new Error(`publish printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  const log = await platform.client.getBuildLog(slug, result.version.version_number).catch(() => '');
  return { code: run.code, stderr: run.stderr, result, log, ms };
}

/** Asserts the publish made a ready, promoted version of `kind`, with the log in the message. */
export function assertReady(p: ProjectPublish, kind: 'static' | 'dynamic'): void {
  const why = `${JSON.stringify(p.result.version.error)}\n${p.stderr}\n--- build log (last 6000 chars) ---\n${p.log.slice(-6000)}`;
  assert.equal(p.result.version.state, 'ready', why);
  assert.equal(p.code, 0, why);
  assert.equal(p.result.version.kind, kind, why);
  assert.equal(p.result.promoted, true, why);
}

/** GET through the edge on `<slug>.localhost`. */
export function edgeGet(platform: Platform, slug: string, path = '/'): Promise<EdgeAnswer> {
  return platform.edge(`${slug}.localhost`, path);
}

/** A header as one string. */
export function header(answer: EdgeAnswer, name: string): string {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The browser would keep it for a year: `public, max-age=31536000, immutable`. */
export const IMMUTABLE = /max-age=31536000/;
/** The browser must ask again: `no-cache`, or `max-age=0` with `must-revalidate`. */
export const REVALIDATED = /no-cache|max-age=0/;

/**
 * The first quoted URL in `html` (a `src`, an `href`, an `import("…")`) under `prefix` ending
 * in `ext` (`/assets/`, `.js`): the build's hashed asset the page loads, as an absolute path
 * (SvelteKit writes them relative, `./_app/…`).
 */
export function assetIn(html: string, prefix: string, ext: string): string | undefined {
  const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`["']\\.?(${escaped(prefix)}[^"']*${escaped(ext)})["']`).exec(html)?.[1];
}

/** How many seconds, to one decimal, for the time report. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** What a real-project test file shares: one isolated platform, the projects it made, their timings. */
export interface RealProjectSuite {
  platform: Platform;
  projects: RealProject[];
  timings: string[];
}

/**
 * Registers the file's `before` and `after`: starts an isolated platform; afterwards removes
 * the projects, stops the platform, prints the timings and checks that nothing of the runtime
 * (namespaces, veths, nft tables, cgroups) is left.
 */
export function realProjectSuite(name: string): RealProjectSuite {
  const suite = { projects: [], timings: [] } as unknown as RealProjectSuite;
  let label = '';
  before(async () => {
    ({ platform: suite.platform, label } = await startIsolatedPlatform());
  });
  after(async () => {
    for (const project of suite.projects) await project.remove();
    await suite.platform?.stop();
    if (suite.timings.length) console.log(`real-projects-${name} timings: ${suite.timings.join('; ')}`);
    if (label) assert.deepEqual(await runtimeLeftovers(label), [], 'stopping the platform removes every netns, veth, nft table and cgroup');
  });
  return suite;
}
