import { and, eq, inArray, sql } from 'drizzle-orm';
import { checkEnvName, checkEnvValue, ENV_LIMITS, type FrozenEnv } from '../core/env-vars.js';
import { SlipwayError } from '../core/errors.js';
import { createMasker, type Masker } from '../core/redact.js';
import { envVars, versions } from '../store/schema.js';
import type { Db, Tx } from '../store/store.js';
import type { Principal, ServiceContext } from './context.js';
import { findDeployment } from './deployment-queries.js';
import { recordEvent } from './event-log.js';

type EnvRow = typeof envVars.$inferSelect;

/** One variable as the API shows it: a secret's value is never shown. */
export function presentEnvVar(row: EnvRow) {
  return {
    name: row.name,
    secret: row.secret,
    value: row.secret ? null : row.value,
    updated_by: row.updatedBy,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
export type EnvVarView = ReturnType<typeof presentEnvVar>;

/** A version's environment, opened: every value, and the secret ones again for masking. */
export interface OpenedEnv {
  values: Record<string, string>;
  secrets: string[];
}

/** What `PATCH /api/v1/deployments/:id/env` applies, all or nothing. */
export interface EnvPatch {
  set?: Record<string, { value: string; secret?: boolean }>;
  unset?: string[];
}

/** Where a sealed value belongs; part of what the seal authenticates. */
const sealContext = (deploymentId: string, name: string) => `${deploymentId}/${name}`;

/**
 * A deployment's environment variables and secrets. Changes apply to versions published
 * afterwards: each version freezes the environment it was published with ({@link freeze}), so
 * a version boots with the same settings forever and a rollback brings back its own. Secret
 * values are sealed before they reach the store and are opened only for the build and the
 * instances ({@link open}); no API answer, event or log line carries them.
 */
export class EnvService {
  /** Log maskers per version; a version's secrets never change. */
  private readonly maskers = new Map<string, Masker>();

  constructor(private readonly ctx: ServiceContext) {}

  async list(principal: Principal, deployment: string): Promise<EnvVarView[]> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    const rows = await this.ctx.store.db.select().from(envVars).where(eq(envVars.deploymentId, dep.id)).orderBy(envVars.name);
    return rows.map(presentEnvVar);
  }

  /** Sets and unsets variables in one transaction; answers the whole list afterwards. */
  async update(principal: Principal, deployment: string, patch: EnvPatch): Promise<EnvVarView[]> {
    const set = Object.entries(patch.set ?? {});
    const unset = [...new Set(patch.unset ?? [])];
    for (const [name, v] of set) {
      checkEnvName(name);
      checkEnvValue(name, v.value);
    }
    for (const name of unset) checkEnvName(name);
    const both = set.map(([n]) => n).filter((n) => unset.includes(n));
    if (both.length) throw new SlipwayError('invalid_env_var', `${both[0]} is both set and unset`, { details: { name: both[0] } });
    if (set.length === 0 && unset.length === 0) throw new SlipwayError('invalid_request', 'nothing to change: give set or unset');

    const db = this.ctx.store.db;
    const dep = await findDeployment(db, principal, deployment);
    await this.ctx.store.withLock(`env:${dep.id}`, () => db.transaction(async (tx) => {
      const now = new Date();
      if (unset.length) await tx.delete(envVars).where(and(eq(envVars.deploymentId, dep.id), inArray(envVars.name, unset)));
      const wasSecret = new Set((await tx.select({ name: envVars.name }).from(envVars)
        .where(and(eq(envVars.deploymentId, dep.id), eq(envVars.secret, true)))).map((r) => r.name));
      for (const [name, v] of set) {
        // A new value for a secret stays secret unless the change says `secret: false`.
        const secret = v.secret ?? wasSecret.has(name);
        const value = secret ? this.ctx.secrets.seal(v.value, sealContext(dep.id, name)) : v.value;
        await tx.insert(envVars).values({ tenantId: dep.tenantId, deploymentId: dep.id, name, secret, value, updatedBy: principal.keyId, createdAt: now, updatedAt: now })
          .onConflictDoUpdate({ target: [envVars.deploymentId, envVars.name], set: { secret, value, updatedBy: principal.keyId, updatedAt: now } });
      }
      const rows = await tx.select({ name: envVars.name, value: envVars.value }).from(envVars).where(eq(envVars.deploymentId, dep.id));
      const total = rows.reduce((n, r) => n + r.name.length + Buffer.byteLength(r.value), 0);
      if (rows.length > ENV_LIMITS.maxVars || total > ENV_LIMITS.maxTotalBytes) {
        // Thrown inside the transaction, so nothing of this change is kept.
        throw new SlipwayError('invalid_env_var', `a deployment holds at most ${ENV_LIMITS.maxVars} variables and ${ENV_LIMITS.maxTotalBytes / 1024} KiB in all`, {
          details: { count: rows.length, bytes: total },
        });
      }
      await recordEvent(tx, {
        tenantId: dep.tenantId, deploymentId: dep.id, type: 'env.updated', actor: principal.keyId,
        reason: describe(set.map(([n]) => n), unset),
        // Names only: a value, secret or not, never goes into an event.
        data: { set: set.map(([n]) => n), unset, secret: set.filter(([, v]) => v.secret).map(([n]) => n) },
      });
    }));
    this.ctx.notifier.emit('events', dep.id);
    return this.list(principal, dep.id);
  }

  /** The deployment's environment as stored (secrets sealed), to keep with a new version. */
  async freeze(tx: Tx, deploymentId: string): Promise<FrozenEnv> {
    const rows = await tx.select().from(envVars).where(eq(envVars.deploymentId, deploymentId));
    const env: FrozenEnv = {};
    for (const r of rows) env[r.name] = { secret: r.secret, value: r.value };
    return env;
  }

  /**
   * A version's environment with its secrets opened, for its build and its instances, and the
   * opened secret values, which are what logs must not show.
   */
  open(deploymentId: string, env: FrozenEnv): OpenedEnv {
    const values: Record<string, string> = {};
    const secrets: string[] = [];
    for (const [name, v] of Object.entries(env)) {
      values[name] = v.secret ? this.ctx.secrets.open(v.value, sealContext(deploymentId, name)) : v.value;
      if (v.secret) secrets.push(values[name]);
    }
    return { values, secrets };
  }

  /** Masks the secrets of a version in what its instances print (cached: versions never change). */
  async maskerOfVersion(db: Db, versionId: string): Promise<Masker> {
    const cached = this.maskers.get(versionId);
    if (cached) return cached;
    const [v] = await db.select({ deploymentId: versions.deploymentId, env: versions.env }).from(versions).where(eq(versions.id, versionId));
    const masker = createMasker(v ? this.open(v.deploymentId, v.env).secrets : []);
    if (this.maskers.size > 1000) this.maskers.clear();
    this.maskers.set(versionId, masker);
    return masker;
  }

  /** Removes a deleted deployment's variables and the copies its versions kept. */
  async forget(tx: Tx, deploymentId: string): Promise<void> {
    await tx.delete(envVars).where(eq(envVars.deploymentId, deploymentId));
    await tx.update(versions).set({ env: {} }).where(eq(versions.deploymentId, deploymentId));
  }
}

function describe(set: string[], unset: string[]): string {
  const parts = [];
  if (set.length) parts.push(`set ${set.join(', ')}`);
  if (unset.length) parts.push(`unset ${unset.join(', ')}`);
  return parts.join('; ');
}

/**
 * The key ids (see {@link SecretBox.keyId}) that the stored secrets were sealed under: of the
 * deployments' variables and of the copies their versions keep. Checked at start-up, so a
 * server with the wrong key refuses to start instead of failing every app that has a secret.
 */
export async function storedSecretKeyIds(db: Db): Promise<string[]> {
  const ids = new Set<string>();
  const keyIdOf = (sealed: string) => /^sw1\.([0-9a-f]+)\./.exec(sealed)?.[1];
  for (const r of await db.select({ value: envVars.value }).from(envVars).where(eq(envVars.secret, true))) {
    const id = keyIdOf(r.value);
    if (id) ids.add(id);
  }
  for (const r of await db.select({ env: versions.env }).from(versions).where(sql`${versions.env} <> '{}'::jsonb`)) {
    for (const v of Object.values(r.env)) {
      const id = v.secret ? keyIdOf(v.value) : undefined;
      if (id) ids.add(id);
    }
  }
  return [...ids].sort();
}

/**
 * The way out when a secrets key is truly lost: deletes every stored secret not sealed under
 * `keyId` (the deployments' variables, and the copies versions keep, which then boot without
 * them). Returns how many values went.
 */
export async function discardSecretsNotSealedBy(db: Db, keyId: string): Promise<number> {
  const ours = (sealed: string) => sealed.startsWith(`sw1.${keyId}.`);
  let n = 0;
  await db.transaction(async (tx) => {
    for (const r of await tx.select().from(envVars).where(eq(envVars.secret, true))) {
      if (ours(r.value)) continue;
      await tx.delete(envVars).where(and(eq(envVars.deploymentId, r.deploymentId), eq(envVars.name, r.name)));
      n++;
    }
    for (const r of await tx.select({ id: versions.id, env: versions.env }).from(versions).where(sql`${versions.env} <> '{}'::jsonb`)) {
      const kept = Object.fromEntries(Object.entries(r.env).filter(([, v]) => !v.secret || ours(v.value)));
      const dropped = Object.keys(r.env).length - Object.keys(kept).length;
      if (dropped === 0) continue;
      await tx.update(versions).set({ env: kept }).where(eq(versions.id, r.id));
      n += dropped;
    }
  });
  return n;
}
