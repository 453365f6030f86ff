// Two servers sharing one PostgreSQL database (each with its own home, one shared blob
// directory, one secrets key), each with its own edge: a change made through either server is
// served by both edges, and a stream opened on one sees what the other did.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPlatform, type Platform } from '../support/platform.js';
import { LISTEN_APPLICATION_NAME } from '../../src/store/postgres/postgres-channel.js';
import { createTestDatabase, testDatabaseUrl } from '../support/test-store.js';
import { waitFor } from '../../src/util/wait-for.js';

const skip = testDatabaseUrl ? false : 'needs PostgreSQL (SLIPWAY_TEST_DATABASE_URL): a PGlite database belongs to one server process';

const HOST = 'shared.localhost';
let a: Platform | undefined;
let b: Platform | undefined;
let work: string | undefined;
let dropDatabase: (() => Promise<void>) | undefined;
let databaseUrl: string | undefined;

before(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), 'slipway-multi-'));
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  databaseUrl = database.url;
  const shared = {
    SLIPWAY_DATABASE_URL: database.url,
    SLIPWAY_BLOB_DIR: join(work, 'blobs'),
    // Secrets sealed through one server must open on the other.
    SLIPWAY_SECRETS_KEY: randomBytes(32).toString('base64'),
  };
  // One after the other: the second start finds the schema migrated and the tenant made.
  a = await startPlatform({ env: { ...shared, SLIPWAY_HOST_ID: 'server-a' } });
  b = await startPlatform({ env: { ...shared, SLIPWAY_HOST_ID: 'server-b' } });
});

after(async () => {
  await b?.stop();
  await a?.stop();
  await dropDatabase?.();
  if (work) await rm(work, { recursive: true, force: true });
});

async function site(name: string, html: string): Promise<string> {
  const dir = join(work!, 'sites', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.html'), html);
  return dir;
}

/** Waits until the platform's edge serves `text` at the shared deployment's host. */
async function served(platform: Platform, text: string, description: string): Promise<void> {
  await waitFor(async () => (await platform.edge(HOST)).text === text, { timeoutMs: 15_000, description });
}

test('a publish through one server is served by the other\'s edge, a rollback through the other by the first\'s, and streams see both', { skip }, async () => {
  const host = HOST;
  const first = await a!.cli(['publish', await site('v1', '<h1>one</h1>'), '--deployment', 'shared', '--wait', '--json']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal((await a!.edge(host)).text, '<h1>one</h1>', 'the publishing server\'s edge serves it when the answer comes');
  // B's edge hears of it through B (LISTEN/NOTIFY) and fetches the release from the shared blobs.
  await served(b!, '<h1>one</h1>', 'the edge on server B to serve the publish made on A');

  // A stream opened on B sees what A does next.
  const stream = new AbortController();
  const promotedOnB = (async () => {
    for await (const event of b!.client.followEvents('shared', { limit: 1, signal: stream.signal })) {
      if (event.type === 'deployment.promoted' && event.data.version_number === 2) return event;
    }
    return undefined;
  })();
  const second = await a!.cli(['publish', await site('v2', '<h1>two</h1>'), '--deployment', 'shared', '--wait', '--json']);
  assert.equal(second.code, 0, second.stderr);
  await served(b!, '<h1>two</h1>', 'the edge on B to serve version 2');
  const timer = setTimeout(() => stream.abort(), 15_000);
  const promoted = await promotedOnB.finally(() => clearTimeout(timer));
  stream.abort();
  assert.ok(promoted, 'the stream on B saw version 2 promoted by A');

  const rolled = await b!.cli(['rollback', 'shared', '--to', '1', '--json']);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.equal((await b!.edge(host)).text, '<h1>one</h1>');
  await served(a!, '<h1>one</h1>', 'the edge on server A to serve the rollback made on B');

  // Both servers agree on what is live.
  const [onA, onB] = await Promise.all([a!.client.getDeployment('shared'), b!.client.getDeployment('shared')]);
  assert.equal(onA.active_version_number, 1);
  assert.equal(onB.active_version_number, 1);
});

test('when server B\'s listening connection is killed, a change made on A still reaches B\'s edge', { skip }, async () => {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const listeners = async () => (await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY backend_start',
      [LISTEN_APPLICATION_NAME],
    )).rows.map((row) => row.pid);
    // A started (and began listening) before B, so B's listening backend is the newer one.
    const before = await listeners();
    assert.equal(before.length, 2, 'each server has one listening connection');
    const listenerOfB = before[1]!;
    await admin.query('SELECT pg_terminate_backend($1)', [listenerOfB]);
    const published = await a!.cli(['publish', await site('v3', '<h1>three</h1>'), '--deployment', 'shared', '--wait', '--json']);
    assert.equal(published.code, 0, published.stderr);
    await served(b!, '<h1>three</h1>', 'the edge on B to serve a change made while B was not listening');
    // B listens again, on a new connection.
    await waitFor(async () => { const now = await listeners(); return now.length === 2 && !now.includes(listenerOfB); }, { description: 'B to listen again' });
  } finally {
    await admin.end();
  }
});
