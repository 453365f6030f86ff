/**
 * Everything `slipway doctor` says about this host: what the local driver would find (root, the
 * sandbox tools, cgroups), what the sandbox needs from the kernel (user namespaces, loop
 * devices), whether the default ports are free, and what each missing piece costs. It inspects
 * only the local host, so it works without a running server, and it decides the verdict the
 * same way the driver does (the same probe).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CGROUP_CONTROLLERS } from './cgroups.js';
import {
  bwrapHasTmpfsSize, bwrapVersion, findTool, HOST_TOOL_NAMES, probeCgroups, probeIsolation, type IsolationProbe,
} from './host-probe.js';

/** How apps would run on this host. */
export const HOST_VERDICTS = ['isolated_with_limits', 'isolated_without_limits', 'plain_processes', 'refused'] as const;
export type HostVerdict = (typeof HOST_VERDICTS)[number];

/** A port Slipway listens on, and whether it is free now. */
export interface PortCheck {
  name: string;
  host: string;
  port: number;
  free: boolean;
  /** Why it is not free (`EADDRINUSE`, `EACCES`…); null when free. */
  error: string | null;
}

/** The report `slipway doctor` prints (and `--json` prints as is). */
export interface HostReport {
  root: boolean;
  uid: number | null;
  /** Each program the isolated mode runs, with its path or null when missing. */
  tools: Record<(typeof HOST_TOOL_NAMES)[number], string | null>;
  bubblewrap: { version: string | null; tmpfs_size: boolean };
  cgroup: {
    root: string;
    /** What the driver would use: v1 when mounted, else v2 when delegatable, else none. */
    version: 'v1' | 'v2' | 'none';
    v1_controllers: string[];
    /** Controllers the v2 hierarchy offers, at `root` or (hybrid hosts) `root/unified`; null: none there. */
    v2_controllers: string[] | null;
    reason: string | null;
  };
  user_namespaces: {
    /** Debian's switch for unprivileged user namespaces (null where the kernel has none). */
    unprivileged_userns_clone: number | null;
    max_user_namespaces: number | null;
    /** Ubuntu 24.04's AppArmor restriction (null where absent). */
    apparmor_restrict_unprivileged_userns: number | null;
    usable: boolean;
  };
  loop_devices: { loop_control: boolean; losetup: string | null; mkfs_ext4: string | null };
  ports: PortCheck[];
  /** One line per missing piece: what it is and what it costs. */
  costs: string[];
  verdict: HostVerdict;
  /** The verdict in words, e.g. "apps run isolated, limits NOT enforced (…)". */
  summary: string;
}

/** Options of {@link inspectHost}. */
export interface InspectHostOptions {
  cgroupRoot: string;
  /** SLIPWAY_RUNTIME_ISOLATION. */
  isolation: 'auto' | 'none';
  ports: Array<{ name: string; host: string; port: number }>;
}

/** Inspects this host. Never throws for what it finds missing: that is the report. */
export async function inspectHost(options: InspectHostOptions): Promise<HostReport> {
  const uid = process.getuid?.() ?? null;
  const root = uid === 0;
  const tools = Object.fromEntries(HOST_TOOL_NAMES.map((n) => [n, findTool(n)])) as HostReport['tools'];
  const version = tools.bwrap ? bwrapVersion(tools.bwrap) : null;
  const tmpfsSize = tools.bwrap ? bwrapHasTmpfsSize(tools.bwrap) : false;
  const cgroupProbe = probeCgroups(options.cgroupRoot);
  const userns = userNamespaces();
  const loop = { loop_control: existsSync('/dev/loop-control'), losetup: findTool('losetup'), mkfs_ext4: findTool('mkfs.ext4') };
  const ports = await Promise.all(options.ports.map(checkPort));
  const probe = probeIsolation({ cgroupRoot: options.cgroupRoot });

  const costs: string[] = [];
  if (!root) costs.push('not root: apps run as plain processes of your user (no sandbox, no own uid, no network isolation, no limits)');
  const missing = HOST_TOOL_NAMES.filter((n) => tools[n] === null);
  if (missing.length > 0) {
    costs.push(`missing ${missing.join(', ')}: as root, instances are refused (isolation_unavailable) unless SLIPWAY_RUNTIME_ISOLATION=none runs them as plain root processes`);
  }
  if (tools.bwrap && !tmpfsSize) costs.push('bubblewrap older than 0.8 (no tmpfs --size): an app\'s /tmp is not size-limited');
  if (cgroupProbe.version === 'none') costs.push(`no usable cgroups (${cgroupProbe.reason}): memory, CPU and pids limits are NOT enforced`);
  if (userns.apparmor_restrict_unprivileged_userns === 1) {
    costs.push('AppArmor restricts unprivileged user namespaces: the sandbox starts only if bubblewrap\'s AppArmor profile allows them');
  }
  if (!userns.usable) costs.push('user namespaces are disabled: bubblewrap cannot start the sandbox as the instance\'s uid, so isolated instances fail to start');
  if (!loop.loop_control || !loop.losetup || !loop.mkfs_ext4) costs.push('no loop devices, losetup or mkfs.ext4: an app\'s /tmp cannot be a disk-backed scratch filesystem');
  for (const p of ports) if (!p.free) costs.push(`port ${p.port} (${p.name}) on ${p.host} is not free (${p.error}): set its SLIPWAY_*_PORT or stop what holds it`);

  const { verdict, summary } = decide({ probe, isolation: options.isolation, root });
  return {
    root, uid, tools, bubblewrap: { version, tmpfs_size: tmpfsSize },
    cgroup: {
      root: options.cgroupRoot, version: cgroupProbe.version,
      v1_controllers: CGROUP_CONTROLLERS.filter((c) => existsSync(join(options.cgroupRoot, c, 'cgroup.procs'))),
      v2_controllers: readWords(join(options.cgroupRoot, 'cgroup.controllers')) ?? readWords(join(options.cgroupRoot, 'unified', 'cgroup.controllers')),
      reason: cgroupProbe.version === 'none' ? cgroupProbe.reason : null,
    },
    user_namespaces: userns, loop_devices: loop, ports, costs, verdict, summary,
  };
}

/** The verdict, decided as the local driver decides its mode. */
function decide(input: { probe: IsolationProbe; isolation: 'auto' | 'none'; root: boolean }): { verdict: HostVerdict; summary: string } {
  const { probe, isolation, root } = input;
  if (isolation === 'none') {
    return { verdict: 'plain_processes', summary: `apps run as plain processes (SLIPWAY_RUNTIME_ISOLATION=none${root ? ', as root' : ''})` };
  }
  if (!probe.available) {
    if (root) return { verdict: 'refused', summary: `apps are refused, not run as root (${probe.reason}; install them or set SLIPWAY_RUNTIME_ISOLATION=none)` };
    return { verdict: 'plain_processes', summary: `apps run as plain processes (${probe.reason})` };
  }
  if (probe.cgroup.version === 'none') {
    return { verdict: 'isolated_without_limits', summary: `apps run isolated, limits NOT enforced (${probe.cgroup.reason})` };
  }
  return { verdict: 'isolated_with_limits', summary: `apps run isolated with limits (cgroup ${probe.cgroup.version})` };
}

function userNamespaces(): HostReport['user_namespaces'] {
  const clone = readNumber('/proc/sys/kernel/unprivileged_userns_clone');
  const max = readNumber('/proc/sys/user/max_user_namespaces');
  const apparmor = readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
  // bwrap runs as the instance's (unprivileged) uid, so it needs unprivileged user namespaces.
  // AppArmor's restriction is left out: distributions ship a profile that exempts bwrap.
  const usable = clone !== 0 && max !== 0;
  return { unprivileged_userns_clone: clone, max_user_namespaces: max, apparmor_restrict_unprivileged_userns: apparmor, usable };
}

function readNumber(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function readWords(file: string): string[] | null {
  try {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return null;
  }
}

/** Binds and closes the port at once: free means Slipway could listen there now. */
function checkPort(p: { name: string; host: string; port: number }): Promise<PortCheck> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve({ ...p, free: false, error: err.code ?? err.message }));
    server.listen({ host: p.host, port: p.port, exclusive: true }, () => server.close(() => resolve({ ...p, free: true, error: null })));
  });
}
