import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import * as tar from 'tar';
import { seedContext, seedDeployment, SEED } from '../../../test/support/seed.js';
import { openTestStore } from '../../../test/support/test-store.js';
import { createFsBlobStore } from '../../blobs/fs/fs-blob-store.js';
import { DEFAULT_UPLOAD_LIMITS, IN_MEMORY_SOURCE_BYTES } from '../../core/limits.js';
import { EnvService } from '../../services/env-service.js';
import { PublishService } from '../../services/publish-service.js';
import type { Principal, ServiceContext } from '../../services/context.js';
import type { Services } from '../../services/services.js';
import { deployments, versions } from '../../store/schema.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { createUploadMemoryPool, type UploadMemoryGrant } from '../upload.js';
import { receiveSource } from './publish.js';

test('with the upload memory pool taken, an upload spills to disk and publishes the same snapshot', async () => {
  const { store, cleanup } = await openTestStore();
  const dir = await makeTempDir('publish-receive-test-');
  const held: UploadMemoryGrant[] = [];
  try {
    await seedDeployment(store);
    const base = seedContext(store);
    const ctx = {
      ...base, blobs: await createFsBlobStore({ root: join(dir, 'blobs') }),
      config: { ...base.config, uploadDir: join(dir, 'uploads'), limits: DEFAULT_UPLOAD_LIMITS },
    } as ServiceContext;
    const services = { ctx } as unknown as Services;
    const publishes = new PublishService(ctx, new EnvService(ctx));
    const [deployment] = await store.db.select().from(deployments).where(eq(deployments.id, SEED.deploymentId));
    const principal: Principal = { keyId: 'key_t', tenantId: SEED.tenantId, projectId: null, role: 'admin' };

    const site = join(dir, 'site');
    for (const [path, content] of Object.entries({ 'index.html': '<h1>hi</h1>', 'css/site.css': 'h1 { color: red }', 'node_modules/x/i.js': 'left out' })) {
      await mkdir(dirname(join(site, path)), { recursive: true });
      await writeFile(join(site, path), content);
    }
    await tar.c({ gzip: true, cwd: site, file: join(dir, 'site.tgz'), portable: true }, ['index.html', 'css', 'node_modules']);
    const upload = await readFile(join(dir, 'site.tgz'));
    const request = () => ({ query: {}, headers: { 'content-type': 'application/gzip' }, body: Readable.from([upload]) }) as unknown as FastifyRequest;
    const pool = createUploadMemoryPool();
    const publish = async (): Promise<{ type: string; sourceSha256: string; reservedWhileHeld: number }> => {
      const received = await receiveSource(request(), services, { receiving: new Set(), memory: pool });
      const reservedWhileHeld = pool.reserved();
      try {
        const { versionId } = await publishes.accept({ principal, deployment: deployment!, source: received.source, options: { kind: 'auto' } });
        const [row] = await store.db.select().from(versions).where(eq(versions.id, versionId));
        return { type: received.source.type, sourceSha256: row!.sourceSha256, reservedWhileHeld };
      } finally {
        await received.cleanup();
      }
    };

    const inMemory = await publish();
    assert.equal(inMemory.type, 'memory');
    assert.equal(inMemory.reservedWhileHeld, IN_MEMORY_SOURCE_BYTES);
    assert.equal(pool.reserved(), 0, 'cleanup gives the share back');

    for (let grant = pool.reserve(); grant !== undefined; grant = pool.reserve()) held.push(grant);
    const taken = pool.reserved();
    const spilled = await publish();
    assert.equal(spilled.type, 'tree', 'the upload stayed in memory although the pool was taken');
    assert.equal(spilled.sourceSha256, inMemory.sourceSha256);
    assert.equal(pool.reserved(), taken);
    assert.deepEqual(await readdir(join(dir, 'uploads')), [], 'cleanup removes the spilled tree');
  } finally {
    for (const grant of held) grant.release();
    await cleanup();
    await removeDir(dir);
  }
});
