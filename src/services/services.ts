import type { ServiceContext } from './context.js';
import { ApiKeyService } from './api-keys.js';
import { BlobService } from './blob-service.js';
import { BuildWorker } from './build-worker.js';
import { DeploymentService } from './deployment-service.js';
import { EnvService } from './env-service.js';
import { EventService } from './event-service.js';
import { DEFAULT_GC_CONFIG } from './gc/gc-config.js';
import { GcService } from './gc-service.js';
import { KeyService } from './key-service.js';
import { IdempotencyService } from './idempotency.js';
import { OperationService } from './operation-service.js';
import { PublishService } from './publish-service.js';
import { RollbackService } from './rollback-service.js';
import { InstanceService } from './instance-service.js';
import { LogService } from './log-service.js';
import { Reconciler } from './reconciler.js';
import { RolloutService } from './rollout-service.js';
import { RuntimeService } from './runtime-service.js';
import { RouteFeed } from './route-feed.js';
import { DomainService } from './domain-service.js';
import { DomainChecker } from './domains/domain-checker.js';
import { createDomainResolver } from './domains/verify-dns.js';
import { CertificateFeed } from './tls/certificate-feed.js';
import { LocalCaService } from './tls/local-ca-service.js';
import { TenantLifecycle } from './tenant-lifecycle.js';
import { TenantService } from './tenant-service.js';
import { VersionService } from './version-service.js';
import { DEFAULT_WAKE_IDLE_MS, WakeService } from './wake-service.js';
import type { AcmeCa } from './tls/acme-ca.js';
import { AcmeService, type AcmeServiceOptions } from './tls/acme-service.js';

/** Every service, wired once at start-up and handed to the API. */
export interface Services {
  ctx: ServiceContext;
  /** Resolves bearer tokens to callers. */
  apiKeys: ApiKeyService;
  /** Replays answers to repeated `Idempotency-Key` requests. */
  idempotency: IdempotencyService;
  events: EventService;
  /** Release and image downloads for the edge and the agents. */
  blobs: BlobService;
  deployments: DeploymentService;
  env: EnvService;
  versions: VersionService;
  publishes: PublishService;
  rollbacks: RollbackService;
  operations: OperationService;
  routes: RouteFeed;
  instances: InstanceService;
  rollouts: RolloutService;
  reconciler: Reconciler;
  logs: LogService;
  runtime: RuntimeService;
  worker: BuildWorker;
  /** Boots versions on request and stops them when idle. */
  wake: WakeService;
  /** Retention and garbage collection of releases, blobs and scratch. */
  gc: GcService;
  /** Custom domains and tenant bases: claims, ownership checks, options, history. */
  domains: DomainService;
  /** Retries pending domain verifications in the background (started by the server). */
  domainChecker: DomainChecker;
  /** The live certificates, streamed to the edges. */
  certificates: CertificateFeed;
  /** The embedded local CA: managed wildcard, per-host certificates on demand, renewal. */
  localCa: LocalCaService;
  /** Certificates from an ACME CA: issuance, renewal, on-demand; absent without SLIPWAY_ACME_DIRECTORY_URL. */
  acme?: AcmeService;
  /** Tenants: create, list, change (operator), and a tenant's own branding. */
  tenants: TenantService;
  /** Suspending, resuming and deleting tenants. */
  tenantLifecycle: TenantLifecycle;
  /** A tenant's API keys. */
  keys: KeyService;
}

/** Drivers only the start-up wiring picks (src/server/). */
export interface ServiceDrivers {
  /** The ACME CA and its settings (SLIPWAY_ACME_DIRECTORY_URL); absent, no ACME. */
  acme?: { ca: AcmeCa; options: AcmeServiceOptions };
}

/** Builds the services over one context. */
export function createServices(ctx: ServiceContext, drivers: ServiceDrivers = {}): Services {
  const versions = new VersionService(ctx);
  const routes = new RouteFeed(ctx);
  const domains = new DomainService(ctx, {
    resolver: createDomainResolver(ctx.config.domains?.dnsServers), httpPort: ctx.config.domains?.httpCheckPort ?? 80,
    allowPrivate: ctx.config.domains?.allowPrivate === true,
  });
  const env = new EnvService(ctx);
  const instances = new InstanceService(ctx, env);
  const rollouts = new RolloutService(ctx, instances, routes);
  const reconciler = new Reconciler(ctx, instances);
  return {
    ctx,
    apiKeys: new ApiKeyService(ctx),
    idempotency: new IdempotencyService(ctx),
    events: new EventService(ctx),
    blobs: new BlobService(ctx),
    deployments: new DeploymentService(ctx, env),
    env,
    versions,
    publishes: new PublishService(ctx, env),
    rollbacks: new RollbackService(ctx, versions, rollouts),
    reconciler,
    logs: new LogService(ctx, env, ctx.config.logRetention),
    runtime: new RuntimeService(ctx, reconciler),
    operations: new OperationService(ctx),
    routes,
    instances,
    rollouts,
    worker: new BuildWorker(ctx, rollouts, env),
    wake: new WakeService(ctx, { instances, rollouts }, { idleMs: ctx.config.wakeIdleMs ?? DEFAULT_WAKE_IDLE_MS, maxVersions: ctx.config.wakeMaxVersions }),
    gc: new GcService(ctx, ctx.config.gc ?? DEFAULT_GC_CONFIG),
    domains,
    domainChecker: new DomainChecker(domains, ctx.logger),
    certificates: new CertificateFeed(ctx),
    localCa: new LocalCaService(ctx),
    acme: drivers.acme ? new AcmeService(ctx, drivers.acme.ca, drivers.acme.options) : undefined,
    tenants: new TenantService(ctx),
    tenantLifecycle: new TenantLifecycle(ctx, { reconciler, env }),
    keys: new KeyService(ctx),
  };
}
