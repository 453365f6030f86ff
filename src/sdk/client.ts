import type { PublishOptions, PublishSource } from './publish-request.js';
import type { DomainsClient } from './domains-client.js';
import type { TenantsClient } from './tenants-client.js';
import type { ListOptions } from './types.js';
import type {
  Deployment, DetectResult, EnvVar, GcReport, Health, LogLine, Operation, Page, PublishResult, RollbackResult, RuntimeInstance, Service, SlipwayEvent, UpdateEnvInput, UpdateServiceInput, Version,
} from './types.js';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The server's origin, e.g. `http://127.0.0.1:7070` (the `api_url` of credentials.json). */
  baseUrl: string;
  /** An API key (`sk_…`), sent as `Authorization: Bearer`. */
  token: string;
  /** The fetch to use; defaults to the global one. Tests inject a fake here. */
  fetch?: typeof fetch;
  /** Sent as `User-Agent`; defaults to `slipway-sdk`. */
  userAgent?: string;
}

/** Body of `POST /deployments`. */
export interface CreateDeploymentInput {
  /** A DNS label: the app is served at `<slug>.<base domain>`. */
  slug: string;
  name?: string;
  projectId?: string;
  /** The operator's own id for a customer: the deployment goes into that project (made on first use). */
  externalWorkspaceId?: string;
  /** Serve `/index.html` for unknown extension-less paths (single-page apps). */
  spaFallback?: boolean;
}

/** Body of `PATCH /deployments/:deployment`; absent fields stay as they are. */
export interface UpdateDeploymentInput {
  name?: string;
  spaFallback?: boolean;
}

export type { ListOptions } from './types.js';

/** Filters of `GET /deployments`. */
export interface ListDeploymentsOptions extends ListOptions {
  projectId?: string;
  externalWorkspaceId?: string;
}

/** Which version a rollback makes active: by number or by id. */
export type RollbackTarget = { to: number } | { versionId: string };

/** Options of {@link SlipwayClient.rollback}. */
export interface RollbackOptions {
  idempotencyKey?: string;
}

/** Options of {@link SlipwayClient.followEvents}. */
export interface FollowEventsOptions {
  /** Ends the stream; the iterator then finishes without throwing. */
  signal?: AbortSignal;
  /** How many past events to replay first, oldest first. */
  limit?: number;
}

/** Options of {@link SlipwayClient.waitForOperation}. */
export interface WaitForOperationOptions {
  /**
   * Longest the server holds each poll (default 2 s). The server answers as soon as the
   * operation ends and the edges serve its result, so this only sets how often `onPoll` runs.
   */
  pollSeconds?: number;
  signal?: AbortSignal;
  /** Called with every polled state, e.g. to show progress. */
  onPoll?: (operation: Operation) => void;
}

/**
 * A typed client for the Slipway HTTP API (docs/api.md). Every method throws a
 * {@link SlipwayApiError} for an error answer, and one with code `unavailable` when the server
 * cannot be reached. `deployment` arguments take an id (`dep_…`) or a slug; `version`
 * arguments take an id (`ver_…`) or a version number.
 *
 * @example
 * const client = createClient({ baseUrl: 'http://127.0.0.1:7070', token: process.env.SLIPWAY_TOKEN! });
 * await client.createDeployment({ slug: 'my-site' });
 * const result = await client.publish('my-site', { files: { 'index.html': '<h1>hi</h1>' } }, { wait: true });
 * console.log(result.version.version_number, result.deployment.public_url);
 */
export interface SlipwayClient extends TenantsClient, DomainsClient {
  /** Liveness of the server; needs no key. */
  healthz(): Promise<Health>;
  /** Creates a deployment; `deployment_exists` (409) when the slug is taken. */
  createDeployment(input: CreateDeploymentInput): Promise<Deployment>;
  /** One page of deployments, newest first. */
  listDeployments(options?: ListDeploymentsOptions): Promise<Page<Deployment>>;
  /** One deployment; `deployment_not_found` (404) when it does not exist for this key. */
  getDeployment(deployment: string): Promise<Deployment>;
  /** Changes `name` or `spaFallback`. */
  updateDeployment(deployment: string, changes: UpdateDeploymentInput): Promise<Deployment>;
  /** Stops serving the deployment and frees its slug; versions and blobs are kept. */
  deleteDeployment(deployment: string): Promise<Deployment>;
  /**
   * Publishes a new version from an archive (tar or tar.gz bytes or stream) or a file map.
   * Answers at once with the queued version and an operation, or with `wait` once the version
   * is active or failed; a failed build is an answer, not an error (`version.state: 'failed'`).
   *
   * @example
   * const archive = await packDirectory('./site');
   * const { version } = await client.publish('my-site', archive, { wait: true, idempotencyKey: 'ci-1234' });
   */
  publish(deployment: string, source: PublishSource, options?: PublishOptions): Promise<PublishResult>;
  /**
   * How the server would build this source with these options (framework, install, build,
   * output or run command, port) and why, without storing or building anything. A source the
   * build would refuse is the same error (`build_required`, `build_toolchain_missing`, …).
   *
   * @example
   * const plan = await client.detect(await packDirectory('./app'));
   * console.log(plan.detected, plan.reasons);
   */
  detect(source: PublishSource, options?: Omit<PublishOptions, 'wait' | 'idempotencyKey'>): Promise<DetectResult>;
  /** One page of versions, newest first. */
  listVersions(deployment: string, options?: ListOptions): Promise<Page<Version>>;
  /** One version, by id or number. */
  getVersion(deployment: string, version: string | number): Promise<Version>;
  /**
   * A deployment's services (empty for a static site).
   *
   * @example
   * const [web] = await client.listServices('my-api');
   */
  listServices(deployment: string): Promise<Service[]>;
  /** A deployment's runtime instances, newest first. */
  listInstances(deployment: string): Promise<RuntimeInstance[]>;
  /**
   * Scales a service or changes its health check or resources.
   *
   * @example
   * await client.updateService(web.id, { desired_replicas: 3 });
   */
  updateService(serviceId: string, input: UpdateServiceInput): Promise<Service>;
  /** A deployment's environment variables, by name; secret values are never returned. */
  listEnv(deployment: string): Promise<EnvVar[]>;
  /**
   * Sets and unsets variables in one step. Versions published afterwards get them; running
   * ones keep the environment they were published with.
   *
   * @example
   * await client.updateEnv('my-api', { set: { LOG_LEVEL: 'debug', API_TOKEN: { value: token, secret: true } } });
   */
  updateEnv(deployment: string, input: UpdateEnvInput): Promise<EnvVar[]>;
  /**
   * The newest instance log lines of a deployment, oldest first.
   *
   * @example
   * for (const l of await client.getLogs('my-api', { limit: 50 })) console.log(l.line);
   */
  getLogs(deployment: string, options?: { limit?: number }): Promise<LogLine[]>;
  /**
   * The newest lines, then every new one as it arrives, until `signal` aborts.
   *
   * @example
   * for await (const l of client.followLogs('my-api', { signal })) console.log(l.line);
   */
  followLogs(deployment: string, options?: { limit?: number; signal?: AbortSignal }): AsyncIterable<LogLine>;
  /** The stored build log of a version, as text. */
  getBuildLog(deployment: string, version: string | number): Promise<string>;
  /**
   * Makes a ready version active again; `version_not_ready` (409) when it is not ready.
   *
   * @example
   * await client.rollback('my-site', { to: 2 }, { idempotencyKey: 'rollback-2' });
   */
  rollback(deployment: string, target: RollbackTarget, options?: RollbackOptions): Promise<RollbackResult>;
  /**
   * Publishes a version's source again (the active one unless `version` is given) with the
   * deployment's current environment: how an `updateEnv` reaches a running app. Answers at
   * once, like {@link publish} without `wait`; poll `operation` for the end.
   *
   * @example
   * const { operation } = await client.redeploy('my-api');
   * await client.waitForOperation(operation!.id);
   */
  redeploy(deployment: string, options?: { version?: number | string; idempotencyKey?: string }): Promise<PublishResult>;
  /** One page of events, newest first. */
  listEvents(deployment: string, options?: ListOptions): Promise<Page<SlipwayEvent>>;
  /**
   * Streams events as they happen (Server-Sent Events): first the last `limit` events oldest
   * first, then new ones. The iterator ends when the server closes the stream or `signal`
   * aborts; breaking out of the loop closes the connection.
   *
   * @example
   * const abort = new AbortController();
   * for await (const event of client.followEvents('my-site', { signal: abort.signal })) {
   *   console.log(event.type, event.reason);
   *   if (event.type === 'deployment.promoted') abort.abort();
   * }
   */
  followEvents(deployment: string, options?: FollowEventsOptions): AsyncIterable<SlipwayEvent>;
  /**
   * Reads a long operation once; with `waitSeconds` the server holds the answer until the
   * operation ends (and the edges serve its result) or that many seconds pass (at most 60).
   */
  getOperation(id: string, options?: { waitSeconds?: number }): Promise<Operation>;
  /**
   * Polls an operation until it leaves `running` and returns its final state.
   *
   * @example
   * const op = await client.waitForOperation(result.operation.id);
   * if (op.state === 'failed') console.error(op.error?.message);
   */
  waitForOperation(id: string, options?: WaitForOperationOptions): Promise<Operation>;
  /**
   * Collects garbage now (the operator key): the releases retention lets
   * go, blobs nothing names, scratch crashes left. With `dryRun`, only says what would go.
   *
   * @example
   * const report = await client.gc({ dryRun: true });
   * console.log(`${report.versions.length} releases, ${report.blobs.bytes} bytes would go`);
   */
  gc(options?: { dryRun?: boolean }): Promise<GcReport>;
}
