/**
 * A stand-in for `slipway server` in edge tests: the route watch stream (SSE) and the
 * internal blob endpoint, on a real port, with switches to make it misbehave.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeBlobFrameHeader } from '../../../src/core/blob-batch.js';
import type { Route, RouteMessage } from '../../../src/core/routes.js';

/** A running fake control plane. */
export interface FakeControlPlane {
  readonly url: string;
  readonly token: string;
  /** Blobs served by `GET /api/v1/internal/blobs/:sha256`. */
  readonly blobs: Map<string, Buffer>;
  /** How many times each blob was requested with `GET /api/v1/internal/blobs/:sha256`. */
  readonly blobRequests: Map<string, number>;
  /** The shas each `POST /api/v1/internal/blobs/batch` asked for, one list per request. */
  readonly batchRequests: string[][];
  /** Open watch streams. */
  readonly streams: number;
  /** Current revision (one per change). */
  readonly revision: number;
  /** Revisions the edge acknowledged (`POST /api/v1/internal/edges/ack`), in order. */
  readonly acks: Array<{ edge_id: string; revision: number }>;
  /** Answer blob requests with 503 while true. */
  failBlobs: boolean;
  /** When set, blob answers wait for it (a slow download). */
  blobGate: Promise<void> | null;
  /** When set, `POST /api/v1/internal/wake` answers it; null: 404 (the edge then takes the server for away). */
  wakeAnswer: { state: 'starting' | 'failed' | 'not_found' | 'unavailable'; retry_after_s: number } | null;
  /** Adds or replaces a route and streams the upsert; returns the new revision. */
  upsert(route: Route): number;
  /** Removes a route and streams the removal; returns the new revision. */
  remove(deploymentId: string): number;
  /** Drops every open stream (the edge should reconnect and get a snapshot). */
  dropStreams(): void;
  close(): Promise<void>;
}

/** Starts the fake on a free port. */
export async function startFakeControlPlane(token = 'test-internal-token'): Promise<FakeControlPlane> {
  const routes = new Map<string, Route>();
  const blobs = new Map<string, Buffer>();
  const blobRequests = new Map<string, number>();
  const batchRequests: string[][] = [];
  const streams = new Set<ServerResponse>();
  let revision = 0;

  const frame = (message: RouteMessage) => `event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`;
  const broadcast = (message: RouteMessage) => {
    for (const res of streams) res.write(frame(message));
  };

  const server = createServer(async (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/api/v1/internal/edges/ack') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      fake.acks.push(JSON.parse(Buffer.concat(chunks).toString()) as { edge_id: string; revision: number });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}');
      return;
    }
    if (/^\/api\/v1\/internal\/routes\?watch=true(&edge_id=[\w-]+)?$/.test(url)) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      // A comment first, then a snapshot split across writes, as a real stream may do.
      const snapshot = frame({ type: 'snapshot', revision, routes: [...routes.values()] });
      res.write(': hello\n\n');
      res.write(snapshot.slice(0, 7));
      res.write(snapshot.slice(7));
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    if (req.method === 'POST' && url === '/api/v1/internal/wake' && fake.wakeAnswer !== null) {
      for await (const c of req) void c;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: fake.wakeAnswer }));
      return;
    }
    if (req.method === 'POST' && url === '/api/v1/internal/blobs/batch') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const shas = (JSON.parse(Buffer.concat(chunks).toString()) as { sha256: string[] }).sha256;
      batchRequests.push(shas);
      if (fake.blobGate !== null) await fake.blobGate;
      if (fake.failBlobs || shas.some((sha) => !blobs.has(sha))) {
        res.writeHead(fake.failBlobs ? 503 : 404).end();
        return;
      }
      const frames = shas.flatMap((sha) => {
        const bytes = blobs.get(sha) as Buffer;
        return [encodeBlobFrameHeader(sha, bytes.length), bytes];
      });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat(frames));
      return;
    }
    const blob = /^\/api\/v1\/internal\/blobs\/([0-9a-f]{64})$/.exec(url);
    if (blob !== null) {
      const sha = blob[1] as string;
      blobRequests.set(sha, (blobRequests.get(sha) ?? 0) + 1);
      if (fake.blobGate !== null) await fake.blobGate;
      const bytes = blobs.get(sha);
      if (fake.failBlobs || bytes === undefined) {
        res.writeHead(fake.failBlobs ? 503 : 404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeControlPlane = {
    url: `http://127.0.0.1:${port}`,
    token,
    blobs,
    blobRequests,
    batchRequests,
    get streams() {
      return streams.size;
    },
    get revision() {
      return revision;
    },
    acks: [],
    failBlobs: false,
    blobGate: null,
    wakeAnswer: null,
    upsert(route) {
      routes.set(route.deployment_id, route);
      broadcast({ type: 'upsert', revision: ++revision, route });
      return revision;
    },
    remove(deploymentId) {
      routes.delete(deploymentId);
      broadcast({ type: 'remove', revision: ++revision, deployment_id: deploymentId });
      return revision;
    },
    dropStreams() {
      for (const res of streams) res.destroy();
    },
    async close() {
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/** A route for `slug` whose versions are the given releases (v1, v2, …), `active` by number. */
export function testRoute(
  slug: string,
  shas: string[],
  options: { active?: number | null; spa?: boolean } = {},
): Route {
  const versions = shas.map((sha, i) => ({
    version_number: i + 1,
    version_id: `ver_${slug}_${i + 1}`,
    artifact_sha256: sha,
  }));
  const wanted = options.active === undefined ? versions.length : options.active;
  const active = wanted === null ? null : versions[wanted - 1] ?? null;
  return { deployment_id: `dep_${slug}`, slug, spa_fallback: options.spa ?? false, active, versions };
}
