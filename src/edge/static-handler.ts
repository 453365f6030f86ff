import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteTenant } from '../core/routes.js';
import { pagesFor } from './branded-pages.js';
import { BAD_REQUEST, METHOD_NOT_ALLOWED, sendCanned } from './canned-responses.js';
import { sendFromDisk } from './disk-body.js';
import { ifNoneMatchHits, negotiateEncoding } from './http-negotiation.js';
import { requestPath } from './request-path.js';
import type { FileEntry, FileVariant, Site } from './site.js';

/** What one host serves: a loaded release and the deployment's fallback setting. */
export interface StaticTarget {
  readonly site: Site;
  /** Unknown paths without a file extension serve `/index.html` with 200. */
  readonly spaFallback: boolean;
  /** The route's tenant, for its 404 page; absent: the default tenant. */
  readonly tenant?: RouteTenant;
}

/**
 * Answers a request from a loaded site: small files from memory, large ones (and every file
 * of a site the release cache evicted) streamed from the release tar. GET and HEAD only (405
 * with `Allow` otherwise); an undecodable or dot-segment path is 400. Lookup is one map hit on the site's path index
 * (files plus directory and `.html` aliases). A miss serves, in order: `/index.html` with 200
 * when SPA fallback is on and the last segment has no extension (as `Route.spa_fallback`
 * promises), the release's own `404.html` with 404, or the 404 page of the route's tenant
 * (branded-pages.ts; neutral by default). Everything sent
 * was computed at load time; the in-memory path allocates only what node:http itself needs.
 */
export function serveStatic(req: IncomingMessage, res: ServerResponse, target: StaticTarget): void {
  const method = req.method;
  const isHead = method === 'HEAD';
  if (method !== 'GET' && !isHead) return sendCanned(res, false, METHOD_NOT_ALLOWED);
  const path = requestPath(req.url ?? '');
  if (path === null) return sendCanned(res, isHead, BAD_REQUEST);
  const { site } = target;
  site.onUse(site);
  const entry = site.paths.get(path);
  if (entry !== undefined) return sendEntry(req, res, entry);
  if (target.spaFallback && site.index !== null && !hasExtension(path)) return sendEntry(req, res, site.index);
  if (site.notFound !== null) {
    // The release's 404.html: always sent in full, since a 304 may only stand in for a 200.
    res.statusCode = 404;
    return send(req, res, chooseVariant(req, site.notFound));
  }
  return sendCanned(res, isHead, pagesFor(target.tenant).notFound);
}

/** A 200, or a 304 when If-None-Match matches the chosen variant. */
function sendEntry(req: IncomingMessage, res: ServerResponse, entry: FileEntry): void {
  const variant = chooseVariant(req, entry);
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && ifNoneMatchHits(inm, variant.etag)) {
    res.writeHead(304, variant.notModifiedHeaders);
    res.end();
    return;
  }
  send(req, res, variant);
}

/** Sends `variant` with the status set on `res` (200 unless changed): from memory, else disk. */
function send(req: IncomingMessage, res: ServerResponse, variant: FileVariant): void {
  const body = variant.body;
  if (body === null && req.method !== 'HEAD' && variant.tarPath !== null) return sendFromDisk(res, variant, variant.tarPath);
  res.writeHead(res.statusCode, variant.headers);
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}

function chooseVariant(req: IncomingMessage, entry: FileEntry): FileVariant {
  if (entry.br === null && entry.gzip === null) return entry.identity;
  const chosen = negotiateEncoding(req.headers['accept-encoding'], entry.br !== null, entry.gzip !== null);
  if (chosen === 'br' && entry.br !== null) return entry.br;
  if (chosen === 'gzip' && entry.gzip !== null) return entry.gzip;
  return entry.identity;
}

function hasExtension(path: string): boolean {
  return path.lastIndexOf('.') > path.lastIndexOf('/');
}
