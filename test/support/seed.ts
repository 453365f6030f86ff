/**
 * Rows for service tests that run on a real store without the API: a tenant, project and
 * deployment, and for dynamic ones its production ring, versions, web service and instances.
 * Test support only; the API creates these in real use.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES, type InstanceState } from '../../src/core/runtime.js';
import type { ServiceContext } from '../../src/services/context.js';
import { Notifier } from '../../src/services/notifier.js';
import { SecretBox } from '../../src/services/secret-box.js';
import { deployments, projects, rings, runtimeInstances, services, tenants, versions } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';

export const SEED = { tenantId: 'ten_t', projectId: 'prj_t', deploymentId: 'dep_t', serviceId: 'svc_t', ringId: 'rng_t' } as const;

/** A context over `store` with a real notifier, a silent logger and a throwaway secrets key. */
export function seedContext(store: Store): ServiceContext {
  return {
    store, notifier: new Notifier(), logger: pino({ level: 'silent' }), secrets: new SecretBox(randomBytes(32)),
    config: { baseDomain: 'localhost', publicScheme: 'http', publicPort: 8080 },
  } as unknown as ServiceContext;
}

/** The tenant, project and deployment `app` (`dep_t`). */
export async function seedDeployment(store: Store): Promise<void> {
  const now = new Date();
  await store.db.insert(tenants).values({ id: SEED.tenantId, name: 't', slug: 'default', displayName: 't', createdAt: now });
  await store.db.insert(projects).values({ id: SEED.projectId, tenantId: SEED.tenantId, name: 'p', createdAt: now });
  await store.db.insert(deployments).values({
    id: SEED.deploymentId, tenantId: SEED.tenantId, projectId: SEED.projectId, slug: 'app', name: 'app', spaFallback: false,
    nextVersionNumber: 1, createdAt: now, updatedAt: now,
  });
}

/** The deployment plus its production ring (active version and when it last switched) and web service. */
export async function seedDynamic(store: Store, o: { versions: Array<{ n: number; state: string }>; active: number | null; switchedAt: Date; replicas?: number }): Promise<void> {
  await seedDeployment(store);
  const now = new Date();
  for (const v of o.versions) {
    await store.db.insert(versions).values({
      id: `ver_${v.n}`, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: v.n, kind: 'dynamic', state: v.state,
      sourceSha256: 'a'.repeat(64), requestedKind: 'auto', runtimeOptions: {}, env: {}, attempts: 1, createdBy: 'key_t', createdAt: now,
    });
  }
  await store.db.insert(rings).values({ id: SEED.ringId, deploymentId: SEED.deploymentId, name: 'production', activeVersionId: o.active === null ? null : `ver_${o.active}`, updatedAt: o.switchedAt });
  await store.db.insert(services).values({
    id: SEED.serviceId, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, type: 'web', desiredReplicas: o.replicas ?? 1,
    health: DEFAULT_HEALTH_CHECK, resources: DEFAULT_RESOURCES, crashLoopBudget: 5, drainTimeoutMs: 1000, createdAt: now, updatedAt: now,
  });
}

/** One instance row of version `n`. */
export async function seedInstance(store: Store, i: { id: string; version: number; state: InstanceState; failFast: boolean; desired?: 'running' | 'stopped' }): Promise<void> {
  const now = new Date();
  await store.db.insert(runtimeInstances).values({
    id: i.id, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, serviceId: SEED.serviceId, versionId: `ver_${i.version}`,
    hostId: 'local', desired: i.desired ?? 'running', state: i.state, reason: 'seeded', restartCount: 0, failFast: i.failFast, createdAt: now, updatedAt: now,
  });
}
