import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { asc, eq } from 'drizzle-orm';
import { newId } from '../core/ids.js';
import { apiKeys, projects, tenants } from '../store/schema.js';
import type { Db } from '../store/store.js';
import { createApiKey, hashToken } from './api-keys.js';

/**
 * The slug of the tenant `slipway up` creates: the platform operator's own, whose apps are served
 * at `<slug>.<base domain>` (other tenants' at `<slug>--<tenant>.<base domain>`).
 */
export const DEFAULT_TENANT_SLUG = 'default';

/** Where the first start writes the keys it creates. */
export interface BootstrapPaths {
  /** `{ api_url, token }` for the CLI, mode 0600. */
  credentialsFile: string;
  /** The internal key the edge and agents use, mode 0600. */
  internalTokenFile: string;
}

/** What bootstrap found or made. */
export interface BootstrapResult {
  tenantId: string;
  projectId: string;
  created: boolean;
}

/**
 * On the first start: the default tenant, its default project, an admin key and an internal key.
 * On later starts the keys in the files are checked and any that no longer works (a deleted
 * file, a fresh database) is replaced, so `up` always leaves working credentials behind. Only
 * hashes live in the database, which is why a lost file means a new key.
 */
export async function bootstrap(db: Db, paths: BootstrapPaths, apiUrl: string): Promise<BootstrapResult> {
  let [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, DEFAULT_TENANT_SLUG)).limit(1);
  let created = false;
  if (!tenant) {
    const now = new Date();
    tenant = { id: newId('ten') };
    await db.transaction(async (tx) => {
      await tx.insert(tenants).values({ id: tenant!.id, name: 'default', slug: DEFAULT_TENANT_SLUG, displayName: 'default', createdAt: now });
      await tx.insert(projects).values({ id: newId('prj'), tenantId: tenant!.id, name: 'default', createdAt: now });
    });
    created = true;
  }
  const [project] = await db.select().from(projects).where(eq(projects.tenantId, tenant.id)).orderBy(asc(projects.createdAt)).limit(1);
  const projectId = project!.id;

  const credentials = await readJson(paths.credentialsFile);
  let adminToken = typeof credentials?.token === 'string' ? credentials.token : undefined;
  if (!adminToken || !(await tokenWorks(db, adminToken))) {
    adminToken = (await createApiKey(db, { tenantId: tenant.id, role: 'operator', name: 'operator (created by slipway up)' })).token;
  }
  await writeSecretFile(paths.credentialsFile, `${JSON.stringify({ api_url: apiUrl, token: adminToken }, null, 2)}\n`);

  const internal = (await readFile(paths.internalTokenFile, 'utf8').catch(() => '')).trim();
  if (!internal || !(await tokenWorks(db, internal))) {
    const key = await createApiKey(db, { tenantId: tenant.id, role: 'internal', name: 'edge and agents' });
    await writeSecretFile(paths.internalTokenFile, `${key.token}\n`);
  }
  return { tenantId: tenant.id, projectId, created };
}

async function tokenWorks(db: Db, token: string): Promise<boolean> {
  const rows = await db.select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt }).from(apiKeys).where(eq(apiKeys.tokenHash, hashToken(token)));
  return rows.length === 1 && rows[0]!.revokedAt === null;
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Writes a 0600 file through a temp name, so a crash never leaves half a key. */
export async function writeSecretFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}
