import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import type { BuildNetworkSlots } from '../build/build-network.js';
import type { BuildSandbox } from '../build/build-sandbox.js';
import type { UploadLimits } from '../core/limits.js';
import type { ApiKeyRole } from '../core/states.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import type { Store } from '../store/store.js';
import type { GcConfig } from './gc/gc-config.js';
import type { Notifier } from './notifier.js';
import type { SecretBox } from './secret-box.js';

/** Settings the services need, resolved once at start-up from the environment. */
export interface ServicesConfig {
  /** Apps are served at `<slug>.<baseDomain>`. */
  baseDomain: string;
  /** How users reach the edge, for public URLs: scheme and port (80/443 are left out). */
  publicScheme: 'http' | 'https';
  publicPort: number;
  limits: UploadLimits;
  /** Scratch space for builds; must be traversable by `buildUser`. */
  workDir: string;
  /** Scratch space for uploads and snapshots; private to Slipway. */
  uploadDir: string;
  /**
   * When set (Slipway running as root), build commands run as uid and gid `buildUidBase + slot`,
   * one per concurrent build slot, so no two running builds share a user.
   */
  buildUidBase?: number;
  /** When set, build steps run in this namespace sandbox (root with bubblewrap installed). */
  buildSandbox?: BuildSandbox;
  /** When set (with a sandbox that has `net`), each build gets its own network namespace. */
  buildNetwork?: BuildNetworkSlots;
  /**
   * When set (SLIPWAY_RUNTIME_DRIVER=docker), Dockerfile sources are built into images on this
   * engine and run as containers; unset, a Dockerfile is refused (`dockerfile_requires_container_driver`).
   */
  docker?: EngineApi;
  /** Where live build logs are written while a build runs. */
  logDir: string;
  /** Longest a build command may run. */
  buildTimeoutMs: number;
  /** How many builds may run at once across all deployments. */
  buildConcurrency: number;
  /** How long and how many instance log lines are kept (default 7 days, 100 000 per deployment). */
  logRetention?: LogRetention;
  /** Instances woken by a request stop after this long with none (default 10 min). */
  wakeIdleMs?: number;
  /** Most versions of a deployment besides the live one woken at once (default 3). */
  wakeMaxVersions?: number;
  /**
   * The runtime host this server places new instances on (SLIPWAY_HOST_ID; default `local`):
   * its agent, started with the same id, runs them. One host per server for now.
   */
  hostId?: string;
  /** Retention and garbage collection (default `DEFAULT_GC_CONFIG` of `gc/gc-config.ts`). */
  gc?: GcConfig;
  /**
   * Domain ownership checks: the DNS servers to ask (SLIPWAY_DNS_SERVERS, `ip[:port]`; default
   * the system's), the port of the HTTP token check (SLIPWAY_DOMAIN_HTTP_CHECK_PORT, default 80),
   * and whether it may connect to non-public addresses (SLIPWAY_DOMAIN_HTTP_CHECK_ALLOW_PRIVATE).
   */
  domains?: { dnsServers?: string[]; httpCheckPort?: number; allowPrivate?: boolean };
}

/** Retention of instance logs. */
export interface LogRetention {
  /** Lines older than this are deleted (default 7 days). */
  maxAgeMs: number;
  /** At most this many lines are kept per deployment (default 100 000). */
  maxLinesPerDeployment: number;
}

/** What every service receives; passed in, never global. */
export interface ServiceContext {
  store: Store;
  blobs: BlobStore;
  notifier: Notifier;
  config: ServicesConfig;
  logger: Logger;
  /** Seals and opens secret values under the server's secrets key. */
  secrets: SecretBox;
}

/** Who is calling: resolved from the API key on every request. */
export interface Principal {
  keyId: string;
  /** Every read and write is filtered by this tenant; another tenant's ids are `*_not_found`. */
  tenantId: string;
  /** When set, the key only sees this project. */
  projectId: string | null;
  role: ApiKeyRole;
  /** The key's tenant is suspended: it may still read, but changes nothing until resumed. */
  tenantSuspended?: boolean;
}
