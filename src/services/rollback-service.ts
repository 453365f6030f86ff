import { and, eq } from 'drizzle-orm';
import { isSlipwayError, SlipwayError } from '../core/errors.js';
import { deployments, rings, versions } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { findDeployment } from './deployment-queries.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import type { RolloutService } from './rollout-service.js';
import type { VersionService } from './version-service.js';

/** Which version to return to. */
export type RollbackTarget = { to: number } | { versionId: string };

/**
 * Rollback is a pointer move: the production ring's active version changes in one transaction
 * and the edge switches to a release it can already serve. Nothing is rebuilt. It does not wait
 * behind running builds: a publish that finishes later still promotes its own version.
 */
export class RollbackService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly versionsService: VersionService,
    private readonly rollouts: RolloutService,
  ) {}

  async rollback(principal: Principal, deployment: string, target: RollbackTarget): Promise<{ deploymentId: string; versionId: string }> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    const version = await this.versionsService.find(dep, 'to' in target ? target.to : target.versionId);
    if (version.state !== 'ready') {
      throw new SlipwayError('version_not_ready', `version ${version.versionNumber} is ${version.state}, not ready`, {
        details: { version_number: version.versionNumber, state: version.state },
      });
    }
    if (version.artifactCollectedAt !== null) throw releaseCollected(version.versionNumber, dep.slug);
    // A dynamic version with no healthy instance left boots first (blue/green), then switches;
    // one still warm is a pointer move like a static one.
    const warm = version.kind !== 'dynamic' || await this.rollouts.isWarm(version.id);
    let booted: string[] = [];
    if (!warm) {
      try {
        booted = (await this.rollouts.boot(version, { runtime: {}, actor: principal.keyId })).instanceIds;
      } catch (err) {
        // Collected between the check above and the boot's own check under the version's lock.
        if (isSlipwayError(err, 'release_collected')) throw releaseCollected(version.versionNumber, dep.slug);
        throw err;
      }
    }
    await this.ctx.store.db.transaction(async (tx) => {
      const [ring] = await tx.select().from(rings).where(and(eq(rings.deploymentId, dep.id), eq(rings.name, 'production'))).for('update');
      // Again under the ring's lock, which garbage collection takes to collect a release: one
      // collected since the check above is refused here, never pointed at.
      const [current] = await tx.select({ collectedAt: versions.artifactCollectedAt }).from(versions).where(eq(versions.id, version.id));
      if (current?.collectedAt != null) throw releaseCollected(version.versionNumber, dep.slug);
      const now = new Date();
      await tx.update(rings).set({ activeVersionId: version.id, updatedAt: now }).where(eq(rings.id, ring!.id));
      // A deployment's `updated_at` says when what it serves last changed.
      await tx.update(deployments).set({ updatedAt: now }).where(eq(deployments.id, dep.id));
      await recordEvent(tx, {
        tenantId: dep.tenantId, deploymentId: dep.id, versionId: version.id, type: 'deployment.rolled_back', actor: principal.keyId,
        reason: `rolled back to version ${version.versionNumber}`,
        data: { version_number: version.versionNumber, previous_version_id: ring!.activeVersionId },
      });
      await recordRouteChange(tx, dep.id);
    }).catch(async (err: unknown) => {
      // Refused (or failed) after booting: what this rollback started must not keep running.
      await this.rollouts.stopBooted(booted, 'the rollback was refused')
        .catch((e: unknown) => this.ctx.logger.warn({ err: e }, 'could not stop the instances of a refused rollback'));
      throw err;
    });
    this.ctx.notifier.emit('route', dep.id);
    this.ctx.notifier.emit('events', dep.id);
    await this.rollouts.retireOthers(dep.id, version.id);
    return { deploymentId: dep.id, versionId: version.id };
  }
}

/** A rollback to a version whose release retention deleted: it must be built again instead. */
export function releaseCollected(versionNumber: number, slug: string): SlipwayError {
  return new SlipwayError('release_collected',
    `version ${versionNumber}'s release was deleted by garbage collection (retention); redeploy it to build it again from its snapshot: slipway redeploy ${slug} --version ${versionNumber}`,
    { details: { version_number: versionNumber } });
}
