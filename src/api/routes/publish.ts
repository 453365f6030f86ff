import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SlipwayError } from '../../core/errors.js';
import type { IdempotencyService, StoredAnswer } from '../../services/idempotency.js';
import type { PublishSource } from '../../services/publish-service.js';
import type { Principal } from '../../services/context.js';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { renderPublish } from '../publish-view.js';
import { toPublishOptions } from '../publish-options.js';
import { DeploymentParams, ErrorSchema, type PublishOptionsInput, PublishJsonBody, PublishQuery, PublishResultSchema, RedeployBody, RollbackBody, flag, one } from '../schemas.js';
import { type UploadMemoryGrant, type UploadMemoryPool, meterBody, uploadTooLarge } from '../upload.js';
import { extractUpload } from '../../build/archive/extract-upload.js';
import type { MemoryUploadEntry } from '../../build/memory-source.js';
import { toWireError } from '../error-handler.js';
import { untilEdgesServe } from '../edge-wait.js';

/** What each archive Content-Type means: it decides the format, the bytes must agree. */
const ARCHIVE_FORMATS: Record<string, 'tar' | 'tgz' | 'sniff'> = {
  'application/x-tar': 'tar',
  'application/tar': 'tar',
  'application/gzip': 'tgz',
  'application/x-gzip': 'tgz',
  // "Some bytes": the gzip magic decides, as the SDK and CLI may stream without knowing.
  'application/octet-stream': 'sniff',
};

/** Content types accepted as an archive. */
export const ARCHIVE_TYPES = Object.keys(ARCHIVE_FORMATS);

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Publish and rollback: the two writes that move what a deployment serves. Uploads keep their
 * files in memory only with a share of `uploadMemory`, the pool all of the server's uploads share.
 */
export function publishRoutes(app: FastifyInstance, services: Services, uploadMemory: UploadMemoryPool): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema };
  // Uploads still arriving when the server stops are cut off: closing waits for every request,
  // and a client may send as slowly as it likes.
  const receiving = new Set<Readable>();
  app.addHook('preClose', async () => {
    for (const body of receiving) body.destroy();
  });

  r.post('/api/v1/deployments/:deployment/publish', {
    schema: {
      summary: 'Publish a new version (archive body, or a JSON file map)', tags: ['publish'],
      params: DeploymentParams, querystring: PublishQuery,
      response: { 200: one(PublishResultSchema), 202: one(PublishResultSchema), ...errors },
    },
  }, async (req, reply) => {
    const principal = principalOf(req);
    const dep = await services.deployments.find(principal, req.params.deployment);
    const received = await receiveSource(req, services, { receiving, memory: uploadMemory });
    let answer: StoredAnswer;
    try {
      const options = toPublishOptions(received.options);
      const key = idempotencyKey(req);
      const work = async (): Promise<StoredAnswer> => {
        const accepted = await services.publishes.accept({ principal, deployment: dep, source: received.source, options, idempotencyKey: key });
        return { status: 202, body: { data: await renderPublish(services, principal, { deploymentId: dep.id, ...accepted }) } };
      };
      answer = await answerOnce(reply, { idempotency: services.idempotency, principal, key, request: ['publish', dep.id, options, received.bodySha256] }, work);
    } finally {
      // The snapshot is stored: the upload's memory and folder are freed before any `?wait`.
      await received.cleanup();
    }
    if (!flag(req.query.wait)) return reply.status(answer.status).send(answer.body as never);
    return reply.status(200).send({ data: await waitForPublish(services, principal, { deploymentId: dep.id, body: answer.body }) });
  });

  r.post('/api/v1/deployments/:deployment/redeploy', {
    schema: {
      summary: "Publish a version's source again with the current environment (no upload)", tags: ['publish'],
      params: DeploymentParams, querystring: z.object({ wait: PublishQuery.shape.wait }), body: RedeployBody.optional(),
      response: { 200: one(PublishResultSchema), 202: one(PublishResultSchema), ...errors },
    },
  }, async (req, reply) => {
    const principal = principalOf(req);
    const dep = await services.deployments.find(principal, req.params.deployment);
    const from = await services.versions.find(dep, req.body?.version ?? (await services.deployments.activeVersionId(dep)));
    const key = idempotencyKey(req);
    const work = async (): Promise<StoredAnswer> => {
      const accepted = await services.publishes.redeploy({ principal, deployment: dep, from, idempotencyKey: key });
      return { status: 202, body: { data: await renderPublish(services, principal, { deploymentId: dep.id, ...accepted }) } };
    };
    const answer = await answerOnce(reply, { idempotency: services.idempotency, principal, key, request: ['redeploy', dep.id, from.id] }, work);
    if (!flag(req.query.wait)) return reply.status(answer.status).send(answer.body as never);
    return reply.status(200).send({ data: await waitForPublish(services, principal, { deploymentId: dep.id, body: answer.body }) });
  });

  r.post('/api/v1/deployments/:deployment/rollback', {
    schema: {
      summary: 'Make an earlier ready version active again (no rebuild)', tags: ['publish'],
      params: DeploymentParams, body: RollbackBody, response: { 200: one(PublishResultSchema), ...errors },
    },
  }, async (req, reply) => {
    const principal = principalOf(req);
    const body = req.body;
    const target = 'to' in body ? { to: body.to } : { versionId: body.version_id };
    const work = async (): Promise<StoredAnswer> => {
      const done = await services.rollbacks.rollback(principal, req.params.deployment, target);
      await untilEdgesServe(services);
      return { status: 200, body: { data: await renderPublish(services, principal, done) } };
    };
    const answer = await answerOnce(reply, { idempotency: services.idempotency, principal, key: idempotencyKey(req), request: ['rollback', req.params.deployment, target] }, work);
    return reply.status(answer.status).send(answer.body as never);
  });
}

/** `?wait=true`: the publish answer again once its version is ready (and served) or failed. */
async function waitForPublish(services: Services, principal: Principal, answer: { deploymentId: string; body: unknown }) {
  const { deploymentId, body } = answer;
  const first = (body as { data: { version: { id: string }; operation?: { id: string } } }).data;
  const opId = first.operation?.id;
  if (opId) await services.operations.waitUntilDone(principal, opId, services.ctx.config.buildTimeoutMs + 60_000);
  await untilEdgesServe(services);
  return renderPublish(services, principal, { deploymentId, versionId: first.version.id, operationId: opId });
}

/**
 * Runs `work`, or with an Idempotency-Key replays the answer the same request got before
 * (`idempotent-replayed: true`); the same key with another `request` is a 409.
 */
async function answerOnce(
  reply: FastifyReply,
  o: { idempotency: IdempotencyService; principal: Principal; key: string | undefined; request: unknown[] },
  work: () => Promise<StoredAnswer>,
): Promise<StoredAnswer> {
  if (!o.key) return work();
  const answer = await o.idempotency.run({ principal: o.principal, key: o.key, requestHash: sha256(JSON.stringify(o.request)) }, work);
  if (answer.replayed) void reply.header('idempotent-replayed', 'true');
  return answer;
}

function idempotencyKey(req: FastifyRequest): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new SlipwayError('invalid_request', 'Idempotency-Key must be 1-255 printable ASCII characters', { details: { field: 'Idempotency-Key' } });
  }
  return key;
}

/** A received publish body: the source, its hash and the options it carried. */
export interface ReceivedSource {
  source: PublishSource;
  bodySha256: string;
  options: PublishOptionsInput;
  /**
   * Frees what the upload holds: its folder, its files in memory (the source is empty
   * afterwards) and its share of the upload memory pool.
   */
  cleanup(): Promise<void>;
}

/**
 * Reads the body: a JSON file map is validated here; an archive is unpacked while it streams
 * in (hashed, gunzipped off the event loop, every entry checked before it is written) into a
 * private folder under the uploads scratch space, removed by `cleanup` or on refusal; with
 * `memory`, an upload that gets a share of that pool and whose files fit the share stays in
 * memory instead (`type: 'memory'`); one that gets no share goes to disk from its first byte.
 * Also used by `POST /api/v1/detect`, so a detection sees what a publish would.
 */
export async function receiveSource(
  req: FastifyRequest, services: Services, o: { receiving: Set<Readable>; memory?: UploadMemoryPool },
): Promise<ReceivedSource> {
  const { receiving } = o;
  const { wait: _wait, ...query } = req.query as PublishOptionsInput & { wait?: string };
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    const parsed = PublishJsonBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.');
      throw toWireError(new SlipwayError('invalid_request', `${field || 'body'}: ${issue.message}`, { details: { field: field || null } }));
    }
    const { files, ...options } = parsed.data;
    return { source: { type: 'files', files }, bodySha256: sha256(JSON.stringify(files)), options: { ...query, ...options }, cleanup: async () => {} };
  }
  const format = Object.hasOwn(ARCHIVE_FORMATS, type) ? ARCHIVE_FORMATS[type] : undefined;
  if (format === undefined) {
    throw new SlipwayError('unsupported_media_type', `send the source as application/x-tar, application/gzip or application/json, not "${type || 'nothing'}"`);
  }
  const { uploadDir, limits } = services.ctx.config;
  const raw = req.body as Readable;
  const body = meterBody(raw, limits.maxUploadBytes);
  // Kept until the body is over, drained rest included.
  receiving.add(raw);
  raw.once('close', () => receiving.delete(raw));
  const work = join(uploadDir, `upload-${randomUUID()}`);
  let grant: UploadMemoryGrant | undefined;
  let entries: MemoryUploadEntry[] | undefined;
  const cleanup = async (): Promise<void> => {
    // Emptied rather than dropped: the source given out still names this array.
    entries?.splice(0);
    grant?.release();
    await rm(work, { recursive: true, force: true });
  };
  try {
    // A body that says it is too large is refused before any of it is read.
    if (Number(req.headers['content-length']) > limits.maxUploadBytes) throw uploadTooLarge(limits.maxUploadBytes);
    await mkdir(uploadDir, { recursive: true, mode: 0o700 });
    await mkdir(work, { mode: 0o700 });
    const tree = join(work, 'tree');
    grant = o.memory?.reserve();
    const extracted = await extractUpload({
      input: body.stream, format, declaredBy: `Content-Type ${type}`, destDir: tree, limits, memoryBudgetBytes: grant?.bytes,
    });
    entries = extracted.memory;
    // Past its share the upload went to disk: the share is free for the next one at once.
    if (entries === undefined) grant?.release();
    const digest = body.digest();
    // zlib ignores zero padding after the gzip stream; the hash must still cover every byte.
    if (!digest.complete) throw new SlipwayError('invalid_archive', 'data after the end of the archive');
    const source: PublishSource = entries ? { type: 'memory', entries } : { type: 'tree', dir: tree };
    return { source, bodySha256: digest.sha256, options: query, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  } finally {
    body.release();
  }
}
