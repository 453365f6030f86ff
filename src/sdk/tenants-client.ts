/**
 * The SDK's tenant and API-key methods (docs/tenants.md): the operator key manages tenants, a
 * tenant's admin its keys and branding. Mixed into {@link SlipwayClient} by createClient.
 */
import type { ApiKeyRole, TenantBranding, TenantKeyRole, TenantState } from '../core/states.js';
import { apiPath, type Envelope, type Transport } from './http-transport.js';
import type { ListOptions, Page, Timestamp } from './types.js';

/** A tenant as the API shows it. */
export interface Tenant {
  id: string;
  /** DNS label: its apps are served at `<app>--<slug>.<base domain>`. */
  slug: string;
  display_name: string;
  /** `suspended`: its instances are stopped and its hosts answer its suspension page. */
  state: TenantState;
  branding: TenantBranding;
  suspended_at: Timestamp | null;
  created_at: Timestamp;
}

/** An API key as listed: never its token. */
export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  role: ApiKeyRole;
  /** When set, the key only sees this project. */
  project_id: string | null;
  created_at: Timestamp;
}

/** A key just created: the only time its token is shown. */
export interface CreatedApiKey extends ApiKey {
  token: string;
}

/** A project: groups a tenant's deployments, e.g. those of one of the operator's customers. */
export interface Project {
  id: string;
  name: string;
  /** The operator's own id for that customer (`external_workspace_id` on create and filters). */
  external_workspace_id: string | null;
  created_at: Timestamp;
}

/** Body of `POST /keys`. */
export interface CreateKeyInput {
  name: string;
  role: TenantKeyRole;
  projectId?: string;
  /** Operator only: make the key for this tenant instead of the caller's. */
  tenantId?: string;
}

/** Tenant and key methods of the client. */
export interface TenantsClient {
  /**
   * Creates a tenant (operator key); `tenant_exists` (409) when the slug is taken.
   *
   * @example
   * const tenant = await client.createTenant({ slug: 'acme', displayName: 'Acme Inc.' });
   * const { token } = await client.createKey({ name: 'acme admin', role: 'admin', tenantId: tenant.id });
   */
  createTenant(input: { slug: string; displayName?: string }): Promise<Tenant>;
  /** One page of tenants, newest first (operator key). */
  listTenants(options?: ListOptions): Promise<Page<Tenant>>;
  /** One tenant (operator key). */
  getTenant(id: string): Promise<Tenant>;
  /** Changes a tenant's display name or branding (operator key; `branding` replaces the whole of it). */
  updateTenant(id: string, changes: { displayName?: string; branding?: TenantBranding }): Promise<Tenant>;
  /** Stops the tenant's apps and serves its suspension page; nothing is deleted (operator key). */
  suspendTenant(id: string): Promise<Tenant>;
  /** Brings a suspended tenant's apps back (operator key). */
  resumeTenant(id: string): Promise<Tenant>;
  /** Deletes a tenant: its deployments, hosts and keys go (operator key). */
  deleteTenant(id: string): Promise<Tenant>;
  /** The caller's own tenant. */
  getOwnTenant(): Promise<Tenant>;
  /** Changes the caller's own tenant's display name or branding (admin key). */
  updateOwnTenant(changes: { displayName?: string; branding?: TenantBranding }): Promise<Tenant>;
  /** One page of the tenant's projects with their external workspace ids, newest first. */
  listProjects(options?: ListOptions): Promise<Page<Project>>;
  /**
   * Creates an API key (admin key); the answer's `token` is shown this once only.
   *
   * @example
   * const { token } = await client.createKey({ name: 'ci', role: 'member' });
   */
  createKey(input: CreateKeyInput): Promise<CreatedApiKey>;
  /** One page of the tenant's live keys (the operator may name another tenant). */
  listKeys(options?: ListOptions & { tenantId?: string }): Promise<Page<ApiKey>>;
  /** Revokes a key: it is refused from the next request on. */
  revokeKey(id: string): Promise<ApiKey>;
}

const toPage = <T>(envelope: Envelope<T[]>): Page<T> => ({ data: envelope.data, nextCursor: envelope.next_cursor ?? null });
const tenantBody = (c: { displayName?: string; branding?: TenantBranding }) => ({ display_name: c.displayName, branding: c.branding });

/** The tenant and key methods over one transport. */
export function tenantMethods(http: Transport): TenantsClient {
  const call = async <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, json?: unknown): Promise<T> =>
    (await http.json<T>({ method, path, ...(json === undefined ? {} : { json }) })).data;
  return {
    createTenant: (input) => call<Tenant>('POST', '/tenants', { slug: input.slug, display_name: input.displayName }),
    async listTenants(o = {}) {
      return toPage(await http.json<Tenant[]>({ method: 'GET', path: '/tenants', query: { limit: o.limit, cursor: o.cursor } }));
    },
    getTenant: (id) => call<Tenant>('GET', apiPath`/tenants/${id}`),
    updateTenant: (id, changes) => call<Tenant>('PATCH', apiPath`/tenants/${id}`, tenantBody(changes)),
    suspendTenant: (id) => call<Tenant>('POST', apiPath`/tenants/${id}/suspend`),
    resumeTenant: (id) => call<Tenant>('POST', apiPath`/tenants/${id}/resume`),
    deleteTenant: (id) => call<Tenant>('DELETE', apiPath`/tenants/${id}`),
    getOwnTenant: () => call<Tenant>('GET', '/tenant'),
    updateOwnTenant: (changes) => call<Tenant>('PATCH', '/tenant', tenantBody(changes)),
    async listProjects(o = {}) {
      return toPage(await http.json<Project[]>({ method: 'GET', path: '/projects', query: { limit: o.limit, cursor: o.cursor } }));
    },
    createKey: (input) => call<CreatedApiKey>('POST', '/keys', { name: input.name, role: input.role, project_id: input.projectId, tenant_id: input.tenantId }),
    async listKeys(o = {}) {
      return toPage(await http.json<ApiKey[]>({ method: 'GET', path: '/keys', query: { limit: o.limit, cursor: o.cursor, tenant_id: o.tenantId } }));
    },
    revokeKey: (id) => call<ApiKey>('DELETE', apiPath`/keys/${id}`),
  };
}
