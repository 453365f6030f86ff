import type { ServiceContext } from './context.js';
import { BuildWorker } from './build-worker.js';
import { DeploymentService } from './deployment-service.js';
import { OperationService } from './operation-service.js';
import { PublishService } from './publish-service.js';
import { RollbackService } from './rollback-service.js';
import { RouteFeed } from './route-feed.js';
import { VersionService } from './version-service.js';

/** Every service, wired once at start-up and handed to the API. */
export interface Services {
  ctx: ServiceContext;
  deployments: DeploymentService;
  versions: VersionService;
  publishes: PublishService;
  rollbacks: RollbackService;
  operations: OperationService;
  routes: RouteFeed;
  worker: BuildWorker;
}

/** Builds the services over one context. */
export function createServices(ctx: ServiceContext): Services {
  const versions = new VersionService(ctx);
  return {
    ctx,
    deployments: new DeploymentService(ctx),
    versions,
    publishes: new PublishService(ctx),
    rollbacks: new RollbackService(ctx, versions),
    operations: new OperationService(ctx),
    routes: new RouteFeed(ctx),
    worker: new BuildWorker(ctx),
  };
}
