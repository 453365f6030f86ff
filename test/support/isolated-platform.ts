/**
 * A platform whose agent must run instances isolated (netns, sandbox, cgroup limits), and a
 * check that nothing of its runtime label is left on the host once it has stopped. Tests that
 * prove what the sandbox prevents are worthless in the plain-process fallback, so starting
 * fails loudly when the agent did not pick the isolated mode.
 */
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../src/util/child-process.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type Platform, type PlatformOptions } from './platform.js';

/** A running platform and the runtime label that names its host objects. */
export interface IsolatedPlatform {
  platform: Platform;
  /** `SLIPWAY_RUNTIME_LABEL`: names its netns, veths, nft table and cgroups. */
  label: string;
}

const ISOLATED_LINE = /agent: driver local \(network isolation on, sandbox on, limits on\)/;
const UNLIMITED_LINE = /agent: driver local \(network isolation on, sandbox on, limits NOT ENFORCED\); WARNING: /;

/** Options of {@link startIsolatedPlatform}. */
export interface IsolatedPlatformOptions extends PlatformOptions {
  /** False for a host whose cgroups cannot limit instances: the sandbox must hold without them. */
  limits?: boolean;
}

/**
 * Starts a platform with a known runtime label and waits for the agent's driver line, which
 * must say isolation, sandbox and limits are all on (with `limits: false`: isolation and sandbox
 * on, limits loudly not enforced) (the agent's stdout goes to
 * `<home>/logs/agent.log`, so both that and `up`'s output are searched).
 */
export async function startIsolatedPlatform(options: IsolatedPlatformOptions = {}): Promise<IsolatedPlatform> {
  const label = `e${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`;
  const platform = await startPlatform({ ...options, env: { SLIPWAY_RUNTIME_LABEL: label, ...options.env } });
  const agentOutput = async () => platform.output() + (await readFile(join(platform.home, 'logs', 'agent.log'), 'utf8').catch(() => ''));
  try {
    const line = await waitFor(async () => /agent: driver .*/.exec(await agentOutput())?.[0], { timeoutMs: 30_000, description: 'the agent\'s driver line' });
    if (!(options.limits === false ? UNLIMITED_LINE : ISOLATED_LINE).test(line)) {
      throw new Error(`these tests need the isolated local driver (run as root with bubblewrap, nftables, iproute2 and cgroup v1); the agent says: ${line}`);
    }
  } catch (err) {
    await platform.stop();
    throw err;
  }
  return { platform, label };
}

/**
 * What of `label` is still on the host: network namespaces, host veths, the nftables table,
 * cgroup folders and the sandbox mount point. Empty once the platform stopped cleanly.
 */
export async function runtimeLeftovers(label: string): Promise<string[]> {
  const left: string[] = [];
  const netns = await runCommand(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  for (const line of netns.stdout.split('\n')) if (line.startsWith(`${label}-`)) left.push(`netns ${line.trim()}`);
  const tables = await runCommand(['nft', 'list', 'tables'], { timeoutMs: 10_000 });
  for (const line of tables.stdout.split('\n')) if (line.includes(`slipway_${label}`)) left.push(`nft ${line.trim()}`);
  for (const dev of safeReaddir('/sys/class/net')) if (dev.startsWith(`${label}v`)) left.push(`veth ${dev}`);
  // v1 (one hierarchy per controller) and v2 (the unified one).
  for (const dir of [...['memory', 'pids', 'cpu'].map((c) => `/sys/fs/cgroup/${c}/slipway/${label}`), `/sys/fs/cgroup/slipway/${label}`]) {
    if (existsSync(dir)) left.push(`cgroup ${dir}`);
  }
  if (existsSync(`/run/slipway/${label}`)) left.push(`dir /run/slipway/${label}`);
  return left;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
