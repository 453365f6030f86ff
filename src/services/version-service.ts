import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { and, desc, eq, lt } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { versions } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { findDeployment, type DeploymentRow } from './deployment-queries.js';
import type { Page } from './deployment-service.js';
import { numberCursor } from './page-cursor.js';
import { presentVersion, type VersionView } from './presenters.js';

export type VersionRow = typeof versions.$inferSelect;

/** Reading versions and their build logs. */
export class VersionService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Versions of a deployment, newest first; the cursor is a version number. */
  async list(principal: Principal, deployment: string, page: { limit: number; cursor?: string }): Promise<Page<VersionView>> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    const before = numberCursor(page.cursor);
    const rows = await this.ctx.store.db.select().from(versions)
      .where(and(eq(versions.deploymentId, dep.id), before !== undefined ? lt(versions.versionNumber, before) : undefined))
      .orderBy(desc(versions.versionNumber)).limit(page.limit + 1);
    const shown = rows.slice(0, page.limit);
    return {
      data: shown.map((v) => presentVersion(this.ctx.config, v, dep.slug)),
      next_cursor: rows.length > page.limit ? String(shown[shown.length - 1]!.versionNumber) : null,
    };
  }

  /** One version by id (`ver_…`) or number. */
  async get(principal: Principal, deployment: string, version: string): Promise<VersionView> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    return presentVersion(this.ctx.config, await this.find(dep, version), dep.slug);
  }

  /** Finds a version of a deployment by id or number, or throws `version_not_found`. */
  async find(dep: DeploymentRow, version: string | number): Promise<VersionRow> {
    const ref = String(version);
    const byNumber = /^\d+$/.test(ref);
    if (!byNumber && !ref.startsWith('ver_')) {
      throw new SlipwayError('version_not_found', `no version "${ref}" of ${dep.slug}`, { details: { version: ref } });
    }
    const [row] = await this.ctx.store.db.select().from(versions)
      .where(and(eq(versions.deploymentId, dep.id), byNumber ? eq(versions.versionNumber, Number(ref)) : eq(versions.id, ref)))
      .limit(1);
    if (!row) throw new SlipwayError('version_not_found', `no version "${ref}" of ${dep.slug}`, { details: { version: ref } });
    return row;
  }

  /** The build log: the stored blob once the build ended, the live file while it runs. */
  async buildLog(principal: Principal, deployment: string, version: string): Promise<string> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    const row = await this.find(dep, version);
    if (row.buildLogSha256) return (await this.ctx.blobs.read(row.buildLogSha256)).toString('utf8');
    return readFile(join(this.ctx.config.logDir, `${row.id}.log`), 'utf8').catch(() => '');
  }
}
