import type { ServiceContext } from './context.js';
import { ApiKeyService } from './api-keys.js';
import { BlobService } from './blob-service.js';
import { BuildWorker } from './build-worker.js';
import { DeploymentService } from './deployment-service.js';
import { EnvService } from './env-service.js';
import { EventService } from './event-service.js';
import { DEFAULT_GC_CONFIG } from './gc/gc-config.js';
import { GcService } from './gc-service.js';
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
import { VersionService } from './version-service.js';
import { DEFAULT_WAKE_IDLE_MS, WakeService } from './wake-service.js';

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
}

/** Builds the services over one context. */
export function createServices(ctx: ServiceContext): Services {
  const versions = new VersionService(ctx);
  const routes = new RouteFeed(ctx);
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
  };
}
