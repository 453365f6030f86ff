import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { acmeConfig, type AcmeConfig } from './acme-config.js';
import { DEFAULT_MAX_JSON_BODY_BYTES, DEFAULT_UPLOAD_LIMITS, type UploadLimits } from '../core/limits.js';
import { COOKIE_NAME_RE, DEFAULT_AFFINITY_COOKIE } from '../edge/edge-affinity.js';
import { DEFAULT_REMAP_RANGE } from '../runtime/docker/engine-userns.js';
import { DEFAULT_BUILD_CACHE_MAX_BYTES, DEFAULT_GC_INTERVAL_MS, DEFAULT_RETAIN_DAYS, DEFAULT_RETAIN_VERSIONS, defaultGcGraceMs } from '../services/gc/gc-config.js';
import { parseDnsServers } from '../services/domains/verify-dns.js';

/**
 * Every setting, read once from the environment at start-up. docs/configuration.md lists them;
 * keep the two in step.
 */
export interface SlipwayConfig {
  home: string;
  apiHost: string;
  apiPort: number;
  httpHost: string;
  httpPort: number;
  /**
   * SLIPWAY_HTTPS_PORT: the edge's HTTPS port (HTTP/1.1 and HTTP/2 with SNI); 0 (the default of
   * a bare `slipway edge`) serves no HTTPS. `slipway up` uses 8443 when it is unset.
   */
  httpsPort: number;
  baseDomain: string;
  publicScheme: 'http' | 'https';
  publicPort: number;
  /** postgres://… selects PostgreSQL; otherwise PGlite under `home/db`. */
  databaseUrl: string | undefined;
  /**
   * SLIPWAY_BLOB_DIR: where blobs are stored (default `home/blobs`). Servers sharing one
   * PostgreSQL database each have their own home (the server lock) but must share this.
   */
  blobDir: string;
  limits: UploadLimits;
  buildTimeoutMs: number;
  buildConcurrency: number;
  /** First uid of the build users (root only); undefined runs builds as Slipway's own user. */
  buildUidBase: number | undefined;
  /** False when SLIPWAY_BUILD_SANDBOX=off: build steps then run without namespaces. */
  buildSandbox: boolean;
  /** An IPv4 /16 the builds' network namespaces are addressed from; blackholed on the host. */
  buildSubnet: string;
  logLevel: string;
  /** Instance logs older than this many days are deleted. */
  logRetentionDays: number;
  /** Most instance log lines kept per deployment. */
  logMaxLines: number;
  /** The agent's host id in assignments. */
  hostId: string;
  /** `auto` isolates instances when the host can (root + bubblewrap + nftables); `none` never does. */
  runtimeIsolation: 'auto' | 'none';
  /** First uid of instance users (root only); each instance gets its own. */
  instanceUidBase: number;
  /** An IPv4 /16 the instances' addresses come from; blackholed on the host. */
  instanceSubnet: string;
  /** Prefix of everything the runtime creates on the host (namespaces, interfaces, cgroups, firewall table). */
  runtimeLabel: string;
  /**
   * SLIPWAY_RUNTIME_DRIVER: `local` (default) runs every release as a sandboxed process; `docker`
   * also runs images built from a Dockerfile, as containers on a Slipway-owned Docker engine
   * (`home/docker`), while file-tree releases keep running on the local driver.
   */
  runtimeDriver: 'local' | 'docker';
  /**
   * SLIPWAY_DOCKER_USERNS: `remap` (default) starts the engine with container root mapped to an
   * unprivileged host uid, and refuses to start it when the host cannot; `off` runs Dockerfile
   * build steps and root containers as root on the host (said on the agent's start line).
   */
  dockerUsernsRemap: boolean;
  /** SLIPWAY_CONTAINER_SUBNET: an IPv4 /16 the containers' addresses come from (docker driver); blackholed on the host. */
  containerSubnet: string;
  /** Where the cgroup filesystem is mounted (SLIPWAY_CGROUP_ROOT, default `/sys/fs/cgroup`). */
  cgroupRoot: string;
  /** A websocket tunnel through the edge with no traffic this long is closed. */
  edgeTunnelIdleTimeoutMs: number;
  /**
   * SLIPWAY_WAKE_IDLE_MS: instances woken by a request stop after this long with none. At least
   * 10 s: the edge reports the requests it served every 2 s, and a report a few intervals late
   * must not stop a version that is serving.
   */
  wakeIdleMs: number;
  /** SLIPWAY_WAKE_MAX_VERSIONS: most versions of a deployment besides the live one woken at once. */
  wakeMaxVersions: number;
  /** SLIPWAY_EDGE_MEMORY_BYTES: the edge's memory budget for release files; undefined is 1/8 of RAM. */
  edgeMemoryBytes: number | undefined;
  /**
   * SLIPWAY_EDGE_CACHE_MAX_BYTES: most bytes of releases and release files the edge keeps on
   * disk; undefined is the edge's default (the smaller of 2 GiB and a tenth of the disk), 0 no bound.
   */
  edgeCacheMaxBytes: number | undefined;
  /** SLIPWAY_EDGE_AFFINITY_COOKIE: the edge's session affinity cookie (default `edge_affinity`). */
  edgeAffinityCookie: string;
  /** SLIPWAY_AGENT_START_CONCURRENCY: instance starts in flight at once; undefined is twice the cores. */
  agentStartConcurrency: number | undefined;
  /** SLIPWAY_UP_STOP_APPS=1: stopping `up` stops the edge and every instance too (default: they outlive it). */
  upStopApps: boolean;
  /** SLIPWAY_RETAIN_VERSIONS: the newest this many ready versions of a deployment keep their releases. */
  retainVersions: number;
  /** SLIPWAY_RETAIN_DAYS: versions active at any moment in this many past days keep their releases. */
  retainDays: number;
  /** SLIPWAY_GC_GRACE_MS: blobs younger than this are never collected (longer than any upload and build). */
  gcGraceMs: number;
  /** SLIPWAY_GC_INTERVAL_MS: how often the server collects garbage on its own; 0 never. */
  gcIntervalMs: number;
  /** SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES: garbage collection prunes BuildKit's cache on the Docker engine down to this. */
  dockerBuildCacheMaxBytes: number;
  /** SLIPWAY_SECRETS_KEY as given; unset uses (and first creates) `home/secrets.key`. */
  secretsKey: string | undefined;
  /** SLIPWAY_DISCARD_UNREADABLE_SECRETS=1: start with a new key, deleting secrets sealed under a lost one. */
  discardUnreadableSecrets: boolean;
  /** SLIPWAY_DNS_SERVERS: `ip[:port]` list domain ownership checks ask; undefined: the system's resolvers. */
  dnsServers: string[] | undefined;
  /** SLIPWAY_DOMAIN_HTTP_CHECK_PORT: the port the HTTP token check connects to (default 80; tests). */
  domainHttpCheckPort: number;
  /** SLIPWAY_DOMAIN_HTTP_CHECK_ALLOW_PRIVATE=1: the HTTP token check may connect to loopback and private addresses (tests, private networks). */
  domainHttpCheckAllowPrivate: boolean;
  /** SLIPWAY_ACME_*: certificates from an ACME CA; undefined, none (the local CA issues). */
  acme: AcmeConfig | undefined;
}

/** Where things live inside SLIPWAY_HOME. */
export function homePaths(home: string) {
  return {
    db: join(home, 'db'),
    blobs: join(home, 'blobs'),
    work: join(home, 'work'),
    uploads: join(home, 'uploads'),
    buildLogs: join(home, 'build-logs'),
    edge: join(home, 'edge'),
    agent: join(home, 'agent'),
    /** The Docker engine's state (SLIPWAY_RUNTIME_DRIVER=docker); short on purpose: its socket lives here. */
    docker: join(home, 'docker'),
    credentials: join(home, 'credentials.json'),
    internalToken: join(home, 'internal-token'),
    secretsKey: join(home, 'secrets.key'),
    /** The local CA's certificate, for `curl --cacert` and browsers (the server writes it). */
    localCaCert: join(home, 'tls', 'local-ca.pem'),
    upLock: join(home, 'up.lock'),
    serverLock: join(home, 'server.lock'),
  };
}

function int(env: NodeJS.ProcessEnv, name: string, bounds: { fallback: number; min?: number }): number {
  const { fallback, min = 0 } = bounds;
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new SlipwayError('invalid_request', `${name} must be a whole number ≥ ${min}, not "${raw}"`, { details: { field: name } });
  }
  return n;
}

/** Reads the configuration; a malformed value stops start-up with a message naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SlipwayConfig {
  const httpPort = int(env, 'SLIPWAY_HTTP_PORT', { fallback: 8080 });
  const scheme = env.SLIPWAY_PUBLIC_SCHEME ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') {
    throw new SlipwayError('invalid_request', `SLIPWAY_PUBLIC_SCHEME must be http or https, not "${scheme}"`);
  }
  const home = resolve(env.SLIPWAY_HOME || join(homedir(), '.slipway'));
  uidRangesClearOfRemap(env);
  return {
    home,
    apiHost: env.SLIPWAY_API_HOST || '127.0.0.1',
    apiPort: int(env, 'SLIPWAY_API_PORT', { fallback: 7070 }),
    httpHost: env.SLIPWAY_HTTP_HOST || '127.0.0.1',
    httpPort,
    httpsPort: int(env, 'SLIPWAY_HTTPS_PORT', { fallback: 0 }),
    baseDomain: (env.SLIPWAY_BASE_DOMAIN || 'localhost').toLowerCase(),
    publicScheme: scheme,
    publicPort: int(env, 'SLIPWAY_PUBLIC_PORT', { fallback: httpPort }),
    databaseUrl: env.SLIPWAY_DATABASE_URL || undefined,
    blobDir: resolve(env.SLIPWAY_BLOB_DIR || join(home, 'blobs')),
    limits: {
      maxUploadBytes: int(env, 'SLIPWAY_MAX_UPLOAD_BYTES', { fallback: DEFAULT_UPLOAD_LIMITS.maxUploadBytes, min: 1 }),
      maxUnpackedBytes: int(env, 'SLIPWAY_MAX_UNPACKED_BYTES', { fallback: DEFAULT_UPLOAD_LIMITS.maxUnpackedBytes, min: 1 }),
      maxFiles: int(env, 'SLIPWAY_MAX_FILES', { fallback: DEFAULT_UPLOAD_LIMITS.maxFiles, min: 1 }),
      maxJsonBodyBytes: int(env, 'SLIPWAY_MAX_JSON_BODY_BYTES', { fallback: DEFAULT_MAX_JSON_BODY_BYTES, min: 1 }),
    },
    buildTimeoutMs: int(env, 'SLIPWAY_BUILD_TIMEOUT_MS', { fallback: 15 * 60 * 1000, min: 1000 }),
    buildConcurrency: int(env, 'SLIPWAY_BUILD_CONCURRENCY', { fallback: 2, min: 1 }),
    buildUidBase: buildUidBase(env),
    buildSandbox: env.SLIPWAY_BUILD_SANDBOX !== 'off',
    buildSubnet: buildSubnet(env),
    logLevel: env.SLIPWAY_LOG_LEVEL || 'info',
    logRetentionDays: int(env, 'SLIPWAY_LOG_RETENTION_DAYS', { fallback: 7, min: 1 }),
    logMaxLines: int(env, 'SLIPWAY_LOG_MAX_LINES', { fallback: 100_000, min: 100 }),
    hostId: env.SLIPWAY_HOST_ID || 'local',
    runtimeIsolation: isolation(env),
    instanceUidBase: int(env, 'SLIPWAY_INSTANCE_UID_BASE', { fallback: 300_000, min: 1000 }),
    instanceSubnet: subnet(env),
    runtimeLabel: label(env, home),
    runtimeDriver: runtimeDriver(env),
    dockerUsernsRemap: dockerUserns(env),
    containerSubnet: containerSubnet(env),
    cgroupRoot: resolve(env.SLIPWAY_CGROUP_ROOT || '/sys/fs/cgroup'),
    secretsKey: env.SLIPWAY_SECRETS_KEY || undefined,
    discardUnreadableSecrets: env.SLIPWAY_DISCARD_UNREADABLE_SECRETS === '1',
    dnsServers: parseDnsServers(env.SLIPWAY_DNS_SERVERS),
    domainHttpCheckPort: int(env, 'SLIPWAY_DOMAIN_HTTP_CHECK_PORT', { fallback: 80, min: 1 }),
    domainHttpCheckAllowPrivate: env.SLIPWAY_DOMAIN_HTTP_CHECK_ALLOW_PRIVATE === '1',
    acme: acmeConfig(env),
    edgeTunnelIdleTimeoutMs: int(env, 'SLIPWAY_EDGE_TUNNEL_IDLE_TIMEOUT_MS', { fallback: 600_000, min: 1000 }),
    wakeIdleMs: int(env, 'SLIPWAY_WAKE_IDLE_MS', { fallback: 600_000, min: 10_000 }),
    wakeMaxVersions: int(env, 'SLIPWAY_WAKE_MAX_VERSIONS', { fallback: 3, min: 1 }),
    edgeMemoryBytes: env.SLIPWAY_EDGE_MEMORY_BYTES ? int(env, 'SLIPWAY_EDGE_MEMORY_BYTES', { fallback: 0, min: 1024 * 1024 }) : undefined,
    edgeAffinityCookie: affinityCookieName(env),
    // 0 keeps the caches unbounded; any other bound is at least 1 MiB.
    edgeCacheMaxBytes: env.SLIPWAY_EDGE_CACHE_MAX_BYTES === '0' ? 0
      : env.SLIPWAY_EDGE_CACHE_MAX_BYTES ? int(env, 'SLIPWAY_EDGE_CACHE_MAX_BYTES', { fallback: 0, min: 1024 * 1024 }) : undefined,
    agentStartConcurrency: env.SLIPWAY_AGENT_START_CONCURRENCY ? int(env, 'SLIPWAY_AGENT_START_CONCURRENCY', { fallback: 0, min: 1 }) : undefined,
    upStopApps: env.SLIPWAY_UP_STOP_APPS === '1',
    ...gcSettings(env),
  };
}

/**
 * Retention and garbage collection. The grace must outlast any publish's unreferenced blobs
 * (its upload plus its build), so it defaults to an hour or twice the build time limit.
 */
function gcSettings(env: NodeJS.ProcessEnv): Pick<SlipwayConfig, 'retainVersions' | 'retainDays' | 'gcGraceMs' | 'gcIntervalMs' | 'dockerBuildCacheMaxBytes'> {
  const buildTimeoutMs = int(env, 'SLIPWAY_BUILD_TIMEOUT_MS', { fallback: 15 * 60 * 1000, min: 1000 });
  return {
    retainVersions: int(env, 'SLIPWAY_RETAIN_VERSIONS', { fallback: DEFAULT_RETAIN_VERSIONS, min: 1 }),
    retainDays: int(env, 'SLIPWAY_RETAIN_DAYS', { fallback: DEFAULT_RETAIN_DAYS }),
    gcGraceMs: int(env, 'SLIPWAY_GC_GRACE_MS', { fallback: defaultGcGraceMs(buildTimeoutMs), min: 60_000 }),
    gcIntervalMs: int(env, 'SLIPWAY_GC_INTERVAL_MS', { fallback: DEFAULT_GC_INTERVAL_MS }),
    dockerBuildCacheMaxBytes: int(env, 'SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES', { fallback: DEFAULT_BUILD_CACHE_MAX_BYTES }),
  };
}

/** The affinity cookie's name: any cookie name; white-label hosts pick one of their own. */
function affinityCookieName(env: NodeJS.ProcessEnv): string {
  const v = env.SLIPWAY_EDGE_AFFINITY_COOKIE || DEFAULT_AFFINITY_COOKIE;
  if (v.length > 100 || !COOKIE_NAME_RE.test(v)) {
    throw new SlipwayError('invalid_request', `SLIPWAY_EDGE_AFFINITY_COOKIE must be a cookie name (letters, digits, _ - . and the like), not "${v}"`);
  }
  return v;
}

/**
 * As root, builds run as unprivileged users from SLIPWAY_BUILD_UID_BASE (default 100000), one
 * per concurrent build; `off` runs them as root (not recommended). A non-root Slipway cannot
 * switch users, so its builds run as itself.
 */
function buildUidBase(env: NodeJS.ProcessEnv): number | undefined {
  if (process.getuid?.() !== 0 || env.SLIPWAY_BUILD_UID_BASE === 'off') return undefined;
  return int(env, 'SLIPWAY_BUILD_UID_BASE', { fallback: 100_000, min: 1000 });
}

function isolation(env: NodeJS.ProcessEnv): 'auto' | 'none' {
  const v = env.SLIPWAY_RUNTIME_ISOLATION || 'auto';
  if (v !== 'auto' && v !== 'none') throw new SlipwayError('invalid_request', `SLIPWAY_RUNTIME_ISOLATION must be auto or none, not "${v}"`);
  return v;
}

function subnet(env: NodeJS.ProcessEnv): string {
  const v = env.SLIPWAY_INSTANCE_SUBNET || '10.213.0.0/16';
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(v);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) {
    throw new SlipwayError('invalid_request', `SLIPWAY_INSTANCE_SUBNET must be an IPv4 /16 such as 10.213.0.0/16, not "${v}"`);
  }
  return v;
}

/** The build subnet: an IPv4 /16 that must differ from the instance subnet. */
function buildSubnet(env: NodeJS.ProcessEnv): string {
  const v = env.SLIPWAY_BUILD_SUBNET || '10.214.0.0/16';
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(v);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) {
    throw new SlipwayError('invalid_request', `SLIPWAY_BUILD_SUBNET must be an IPv4 /16 such as 10.214.0.0/16, not "${v}"`);
  }
  if (v === subnet(env)) throw new SlipwayError('invalid_request', `SLIPWAY_BUILD_SUBNET must differ from SLIPWAY_INSTANCE_SUBNET (both are ${v})`);
  return v;
}

// As many instance uids as the local driver hands out slots (at most 1000 instances).
const INSTANCE_UIDS = 1000;

/**
 * With the docker driver remapping, host uids 3000000-3065535 are root and every other user of
 * the engine's containers and build steps: a build or instance user among them would share its
 * uid (its files, its signals, the kill after each build) with any container's.
 */
function uidRangesClearOfRemap(env: NodeJS.ProcessEnv): void {
  if (runtimeDriver(env) !== 'docker' || !dockerUserns(env)) return;
  const remap = { start: DEFAULT_REMAP_RANGE.start, end: DEFAULT_REMAP_RANGE.start + DEFAULT_REMAP_RANGE.count - 1 };
  const build = buildUidBase(env);
  const instance = int(env, 'SLIPWAY_INSTANCE_UID_BASE', { fallback: 300_000, min: 1000 });
  const ranges = [
    ...(build === undefined ? [] : [{ name: 'SLIPWAY_BUILD_UID_BASE', start: build, end: build + int(env, 'SLIPWAY_BUILD_CONCURRENCY', { fallback: 2, min: 1 }) - 1 }]),
    { name: 'SLIPWAY_INSTANCE_UID_BASE', start: instance, end: instance + INSTANCE_UIDS - 1 },
  ];
  for (const r of ranges) {
    if (r.start > remap.end || remap.start > r.end) continue;
    throw new SlipwayError('invalid_request', `${r.name} gives uids ${r.start}-${r.end}, which overlap the uids Docker's remapped containers run as (${remap.start}-${remap.end}, SLIPWAY_DOCKER_USERNS=remap): pick a base outside them`, {
      details: { field: r.name, range: [r.start, r.end], remapRange: [remap.start, remap.end] },
    });
  }
}

function dockerUserns(env: NodeJS.ProcessEnv): boolean {
  const v = env.SLIPWAY_DOCKER_USERNS || 'remap';
  if (v !== 'remap' && v !== 'off') throw new SlipwayError('invalid_request', `SLIPWAY_DOCKER_USERNS must be remap or off, not "${v}"`);
  return v === 'remap';
}

function runtimeDriver(env: NodeJS.ProcessEnv): 'local' | 'docker' {
  const v = env.SLIPWAY_RUNTIME_DRIVER || 'local';
  if (v !== 'local' && v !== 'docker') throw new SlipwayError('invalid_request', `SLIPWAY_RUNTIME_DRIVER must be local or docker, not "${v}"`);
  return v;
}

/**
 * The container subnet: an IPv4 /16 that must differ from the instance and build subnets. Only
 * the docker driver uses it, so only then is it checked: a host on the local driver may use
 * 10.215.0.0/16 for anything else.
 */
function containerSubnet(env: NodeJS.ProcessEnv): string {
  const v = env.SLIPWAY_CONTAINER_SUBNET || '10.215.0.0/16';
  if (runtimeDriver(env) !== 'docker') return v;
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(v);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) {
    throw new SlipwayError('invalid_request', `SLIPWAY_CONTAINER_SUBNET must be an IPv4 /16 such as 10.215.0.0/16, not "${v}"`);
  }
  for (const [name, other] of [['SLIPWAY_INSTANCE_SUBNET', subnet(env)], ['SLIPWAY_BUILD_SUBNET', buildSubnet(env)]] as const) {
    if (v === other) throw new SlipwayError('invalid_request', `SLIPWAY_CONTAINER_SUBNET must differ from ${name} (both are ${v})`);
  }
  return v;
}

/** Default label: `slw` + 4 hex of the home path, so two homes on one host never share names. */
function label(env: NodeJS.ProcessEnv, home: string): string {
  const v = env.SLIPWAY_RUNTIME_LABEL || `slw${createHash('sha256').update(home).digest('hex').slice(0, 4)}`;
  if (!/^[a-z][a-z0-9]{2,7}$/.test(v)) throw new SlipwayError('invalid_request', `SLIPWAY_RUNTIME_LABEL must be 3-8 of [a-z0-9], starting with a letter, not "${v}"`);
  return v;
}
