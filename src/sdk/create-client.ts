import type { ClientOptions, ListOptions, SlipwayClient } from './client.js';
import { readEventStream } from './follow-events.js';
import { parseSse } from '../core/sse.js';
import { apiPath, createTransport, type Envelope } from './http-transport.js';
import { buildPublishRequest } from './publish-request.js';
import { tenantMethods } from './tenants-client.js';
import { domainMethods } from './domains-client.js';
import type {
  Deployment, DetectResult, EnvVar, GcReport, Health, LogLine, Operation, Page, PublishResult, RollbackResult, RuntimeInstance, Service, SlipwayEvent, Version,
} from './types.js';

const DEFAULT_USER_AGENT = 'slipway-sdk';

function toPage<T>(envelope: Envelope<T[]>): Page<T> {
  return { data: envelope.data, nextCursor: envelope.next_cursor ?? null };
}

function listQuery(options: ListOptions = {}): Record<string, string | number | undefined> {
  return { limit: options.limit, cursor: options.cursor };
}

/**
 * Creates a {@link SlipwayClient} bound to one server and API key.
 *
 * @example
 * import { createClient } from './sdk/index.js';
 *
 * const client = createClient({ baseUrl: 'http://127.0.0.1:7070', token: 'sk_…' });
 * const page = await client.listDeployments({ limit: 10 });
 * for (const deployment of page.data) console.log(deployment.slug, deployment.public_url);
 */
export function createClient(options: ClientOptions): SlipwayClient {
  const http = createTransport({
    baseUrl: options.baseUrl,
    token: options.token,
    // Read the global at call time so a fetch patched after creation (or none at all) is seen.
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
  });
  const get = async <T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> =>
    (await http.json<T>({ method: 'GET', path, query })).data;

  const client: SlipwayClient = {
    ...tenantMethods(http),
    ...domainMethods(http),
    async healthz() {
      return (await http.json<Health>({ method: 'GET', path: '/healthz', auth: false })).data;
    },
    async createDeployment(input) {
      const json = { slug: input.slug, name: input.name, project_id: input.projectId, external_workspace_id: input.externalWorkspaceId, spa_fallback: input.spaFallback };
      return (await http.json<Deployment>({ method: 'POST', path: '/deployments', json })).data;
    },
    async listDeployments(list = {}) {
      const query = { ...listQuery(list), project_id: list.projectId, external_workspace_id: list.externalWorkspaceId };
      return toPage(await http.json<Deployment[]>({ method: 'GET', path: '/deployments', query }));
    },
    getDeployment: (deployment) => get<Deployment>(apiPath`/deployments/${deployment}`),
    async updateDeployment(deployment, changes) {
      const json = { name: changes.name, spa_fallback: changes.spaFallback };
      return (await http.json<Deployment>({ method: 'PATCH', path: apiPath`/deployments/${deployment}`, json })).data;
    },
    async deleteDeployment(deployment) {
      return (await http.json<Deployment>({ method: 'DELETE', path: apiPath`/deployments/${deployment}` })).data;
    },
    async publish(deployment, source, publishOptions) {
      const spec = buildPublishRequest(apiPath`/deployments/${deployment}/publish`, source, publishOptions);
      return (await http.json<PublishResult>(spec)).data;
    },
    async detect(source, detectOptions) {
      return (await http.json<DetectResult>(buildPublishRequest('/detect', source, detectOptions))).data;
    },
    async listVersions(deployment, list) {
      return toPage(await http.json<Version[]>({ method: 'GET', path: apiPath`/deployments/${deployment}/versions`, query: listQuery(list) }));
    },
    getVersion: (deployment, version) => get<Version>(apiPath`/deployments/${deployment}/versions/${version}`),
    listServices: (deployment) => get<Service[]>(apiPath`/deployments/${deployment}/services`),
    listInstances: (deployment) => get<RuntimeInstance[]>(apiPath`/deployments/${deployment}/instances`),
    getLogs: (deployment, o = {}) => get<LogLine[]>(apiPath`/deployments/${deployment}/logs` + (o.limit ? `?limit=${o.limit}` : '')),
    async *followLogs(deployment, o = {}) {
      let response: Response;
      try {
        response = await http.send({
          method: 'GET', path: apiPath`/deployments/${deployment}/logs`, query: { follow: 'true', limit: o.limit },
          headers: { accept: 'text/event-stream' }, signal: o.signal,
        });
      } catch (err) {
        if (o.signal?.aborted) return;
        throw err;
      }
      if (!response.body) return;
      try {
        for await (const message of parseSse(response.body)) {
          if (message.event !== 'log') continue;
          yield JSON.parse(message.data) as LogLine;
        }
      } catch (err) {
        if (o.signal?.aborted) return;
        throw err;
      }
    },
    listEnv: (deployment) => get<EnvVar[]>(apiPath`/deployments/${deployment}/env`),
    async updateEnv(deployment, input) {
      return (await http.json<EnvVar[]>({ method: 'PATCH', path: apiPath`/deployments/${deployment}/env`, json: input })).data;
    },
    async updateService(serviceId, input) {
      return (await http.json<Service>({ method: 'PATCH', path: apiPath`/services/${serviceId}`, json: input })).data;
    },
    async getBuildLog(deployment, version) {
      const path = apiPath`/deployments/${deployment}/versions/${version}/build-log`;
      const response = await http.send({ method: 'GET', path, headers: { accept: 'text/plain, application/json' } });
      return response.text();
    },
    async rollback(deployment, target, rollbackOptions = {}) {
      const json = 'to' in target ? { to: target.to } : { version_id: target.versionId };
      const headers: Record<string, string> = {};
      if (rollbackOptions.idempotencyKey !== undefined) headers['idempotency-key'] = rollbackOptions.idempotencyKey;
      const path = apiPath`/deployments/${deployment}/rollback`;
      return (await http.json<RollbackResult>({ method: 'POST', path, json, headers })).data;
    },
    async redeploy(deployment, o = {}) {
      const headers: Record<string, string> = {};
      if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
      const json = o.version === undefined ? {} : { version: o.version };
      return (await http.json<PublishResult>({ method: 'POST', path: apiPath`/deployments/${deployment}/redeploy`, json, headers })).data;
    },
    async gc(o = {}) {
      return (await http.json<GcReport>({ method: 'POST', path: apiPath`/admin/gc`, json: { dry_run: o.dryRun === true } })).data;
    },
    async listEvents(deployment, list) {
      return toPage(await http.json<SlipwayEvent[]>({ method: 'GET', path: apiPath`/deployments/${deployment}/events`, query: listQuery(list) }));
    },
    async *followEvents(deployment, follow = {}) {
      let response: Response;
      try {
        response = await http.send({
          method: 'GET',
          path: apiPath`/deployments/${deployment}/events`,
          query: { follow: 'true', limit: follow.limit },
          headers: { accept: 'text/event-stream' },
          signal: follow.signal,
        });
      } catch (err) {
        if (follow.signal?.aborted) return;
        throw err;
      }
      yield* readEventStream(response, follow.signal);
    },
    getOperation: (id, o = {}) =>
      get<Operation>(apiPath`/operations/${id}` + (o.waitSeconds ? `?wait_seconds=${Math.min(60, Math.ceil(o.waitSeconds))}` : '')),
    async waitForOperation(id, wait = {}) {
      for (;;) {
        wait.signal?.throwIfAborted();
        const operation = await client.getOperation(id, { waitSeconds: wait.pollSeconds ?? 2 });
        wait.onPoll?.(operation);
        if (operation.state !== 'running') return operation;
      }
    },
  };
  return client;
}
