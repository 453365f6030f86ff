import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { pagesFor, type EdgePages } from './branded-pages.js';
import { BAD_REQUEST, sendCanned } from './canned-responses.js';
import { affinityCookie, pinnedUpstream, sharedCacheable, usesAffinity, type AffinityConfig } from './edge-affinity.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './forward-headers.js';
import { forwardedProtoOf } from './tls-request.js';
import type { EdgeLogger } from './logger.js';
import { isUpstreamDown, markUpstreamDown, pickUpstream, UPSTREAM_DOWN_MS, type ProxyTarget } from './pick-upstream.js';
import { pickUntried } from './untried-upstream.js';
import type { UpstreamPools, UpstreamSlot } from './upstream-pool.js';

/** What {@link createProxyHandler} needs. */
export interface ProxyHandlerConfig {
  pools: UpstreamPools;
  logger: EdgeLogger;
  /** `X-Forwarded-Proto` sent upstream. */
  forwardedProto: 'http' | 'https';
  /** The edge's own session affinity for routes without a sticky rule; absent: none. */
  affinity?: AffinityConfig;
  /** How long an instance whose connect failed is skipped; default {@link UPSTREAM_DOWN_MS}. */
  upstreamDownMs?: number;
}

/**
 * Serves one request of a dynamic release by proxying it to one of its instances; the edge's
 * own answers (502, 503, 504) are the pages of the target's tenant (branded-pages.ts).
 */
export type ProxyHandler = (req: IncomingMessage, res: ServerResponse, target: ProxyTarget) => void;

/**
 * Errors that mean the upstream never saw the request or dropped it before answering, so an
 * idempotent request without a body may be tried once more on another instance. EINVAL and
 * EADDRNOTAVAIL are what a connect to a just-removed instance gets: its address then falls under
 * the instance subnet's blackhole route until the route table drops it.
 */
const RETRIABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EINVAL', 'EADDRNOTAVAIL', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/**
 * Errors of the connect itself: the upstream never saw the request, and its address is dead
 * (nothing listens, or the instance's network is gone). The address is skipped for a moment
 * (passive health) and the request goes to another instance, or gets 503, never 502.
 */
const CONNECT_FAILED = new Set(['ECONNREFUSED', 'EINVAL', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Creates the proxy: undici `Pool.stream()` (the fastest Node path measured, MEASUREMENTS.md)
 * writes the upstream's response straight into the client's ServerResponse, and the client's
 * request is the upstream request's body, so both directions stream with backpressure and
 * nothing is buffered. A connect that fails marks its instance down for a moment and the request
 * goes to another one (any method without a body: it was never sent), else 503 with
 * `Retry-After`; other failures before the response starts become 502 (after one retry for
 * GET/HEAD without a body), 504 on a timeout, 503 when there is no instance; failures after it
 * cut the client connection, which is all HTTP allows once a status was sent. A client that
 * goes away aborts the upstream request.
 */
export function createProxyHandler(config: ProxyHandlerConfig): ProxyHandler {
  return (req, res, target) => {
    const isHead = req.method === 'HEAD';
    // undici only takes origin-form targets; absolute-form is for forward proxies.
    if (req.url === undefined || req.url.charCodeAt(0) !== 0x2f) return sendCanned(res, isHead, BAD_REQUEST);
    const affinity = config.affinity !== undefined && usesAffinity(target) ? config.affinity : null;
    const pinned = affinity === null ? -1 : pinnedUpstream(target, req.headers.cookie, affinity);
    const index = pinned !== -1 && !isUpstreamDown(target, pinned) ? pinned : pickUpstream(target, req);
    if (index === -1) return sendCanned(res, isHead, pagesFor(target.tenant).noUpstream);
    new ProxyExchange(config, { req, res, target, pinned: affinity === null ? null : pinned }).send(index);
  };
}

/** One client request through to its response; the `opaque` of its undici stream. */
class ProxyExchange {
  readonly #config: ProxyHandlerConfig;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly #target: ProxyTarget;
  readonly #headers: string[];
  readonly #hasBody: boolean;
  /** With edge affinity: the instance the client's cookie named (-1: none); null without affinity. */
  readonly #pinned: number | null;
  readonly #abort = new ClientGone();
  #slot: UpstreamSlot | null = null;
  #index = 0;
  #retried = false;
  /** Instances whose connect failed for this request; null until one does. */
  #tried: Set<number> | null = null;
  /** Response headers were written to the client: from here on a failure can only cut. */
  started = false;

  constructor(config: ProxyHandlerConfig, exchange: { req: IncomingMessage; res: ServerResponse; target: ProxyTarget; pinned: number | null }) {
    const { req, res, target } = exchange;
    this.#pinned = exchange.pinned;
    this.#config = config;
    this.req = req;
    this.res = res;
    this.#target = target;
    this.#headers = forwardRequestHeaders(req, { proto: forwardedProtoOf(req, config.forwardedProto) });
    const length = req.headers['content-length'];
    // HTTP/2 frames a body without either header: the stream says whether one follows.
    const h2Body = req.httpVersionMajor === 2 && (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
    this.#hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined || h2Body;
    // Before the response starts undici does not watch the client, so tell it: an upstream
    // long-poll for a client that left would otherwise hold a connection until it answers.
    res.once('close', () => {
      if (!res.writableFinished) this.#abort.fire();
    });
  }

  send(index: number): void {
    this.#index = index;
    const slot = this.#config.pools.acquire(this.#target.upstreams[index] as string);
    this.#slot = slot;
    const options = {
      path: this.req.url as string,
      method: this.req.method as Dispatcher.HttpMethod,
      headers: this.#headers,
      body: this.#hasBody ? this.req : null,
      signal: this.#abort as unknown as EventEmitter,
      opaque: this,
      responseHeaders: 'raw' as const,
    };
    slot.pool.stream(options, respond, settled);
  }

  /** The upstream's headers arrived: pass them on and hand undici the client as the sink. */
  respond(statusCode: number, rawHeaders: string[]): ServerResponse {
    const headers = forwardResponseHeaders(rawHeaders);
    // Added beside the app's own Set-Cookie headers, never instead of them. Sent whenever the
    // answering instance is not the one the client's cookie names (none, gone, or a retry),
    // except on answers a CDN may cache (see sharedCacheable).
    if (this.#pinned !== null && this.#pinned !== this.#index && this.#config.affinity !== undefined && !sharedCacheable(headers)) {
      headers.push('set-cookie', affinityCookie(this.#target, this.#index, this.#config.affinity));
    }
    this.res.writeHead(statusCode, headers);
    this.started = true;
    return this.res;
  }

  settled(err: Error | null): void {
    if (this.#slot !== null) this.#config.pools.release(this.#slot);
    this.#slot = null;
    if (err === null) return;
    const { req, res } = this;
    // Not `req.destroyed`: undici destroys a failed request's body (detached from the socket
    // first), and the client still deserves its 502.
    if (this.#abort.aborted || res.destroyed) {
      // The client left; undici has already dropped the upstream side.
      if (!res.destroyed) res.destroy();
      return;
    }
    if (this.started || res.headersSent) {
      this.#config.logger.warn({ err, upstream: this.#address }, 'upstream failed mid-response');
      res.destroy();
      return;
    }
    const code = (err as { code?: string }).code ?? '';
    if (CONNECT_FAILED.has(code)) return this.#connectFailed(err, code);
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    if (!this.#retried && idempotent && !this.#hasBody && RETRIABLE.has(code)) {
      this.#retried = true;
      const next = pickUpstream(this.#target, req);
      this.send(next === -1 ? (this.#index + 1) % this.#target.upstreams.length : next);
      return;
    }
    const timedOut = TIMEOUTS.has(code);
    this.#config.logger.warn({ err, upstream: this.#address, code }, timedOut ? 'upstream timed out' : 'upstream unreachable');
    sendCanned(res, req.method === 'HEAD', timedOut ? this.#pages.gatewayTimeout : this.#pages.badGateway);
  }

  /**
   * The instance at this address is gone (or not there yet): skip it, and try the others that
   * are not marked down and this request has not tried, so this ends even when the marks run
   * out meanwhile. A request with a body cannot be replayed (its body streamed into the failed
   * attempt) and gets the 503 at once.
   */
  #connectFailed(err: Error, code: string): void {
    markUpstreamDown(this.#target, this.#index, Date.now() + (this.#config.upstreamDownMs ?? UPSTREAM_DOWN_MS));
    const tried = (this.#tried ??= new Set());
    tried.add(this.#index);
    const next = this.#hasBody ? -1 : pickUntried(this.#target, this.req, tried);
    if (next !== -1) return this.send(next);
    this.#config.logger.warn({ err, upstream: this.#address, code }, 'no reachable instance');
    sendCanned(this.res, this.req.method === 'HEAD', this.#pages.noUpstream);
  }

  /** The edge's own answers for this target's tenant; only failures ask. */
  get #pages(): EdgePages {
    return pagesFor(this.#target.tenant);
  }

  get #address(): string | undefined {
    return this.#target.upstreams[this.#index];
  }
}

/**
 * The abort signal undici is given: the smallest EventEmitter-shaped object it accepts
 * (`on` / `once` / `removeListener` of one 'abort' listener). An AbortController per request, with
 * its EventTarget listener added and removed, cost a measurable share of the proxy's CPU.
 */
class ClientGone {
  aborted = false;
  reason: Error | undefined;
  #listener: (() => void) | null = null;

  once(_event: 'abort', listener: () => void): this {
    this.#listener = listener;
    return this;
  }

  /** Only checked for by undici, to tell an emitter from an AbortSignal. */
  on(event: 'abort', listener: () => void): this {
    return this.once(event, listener);
  }

  removeListener(): this {
    this.#listener = null;
    return this;
  }

  /** The client went away before its response finished. */
  fire(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new Error('the client closed the connection');
    this.#listener?.();
  }
}

/** Module-level so that a request allocates no closures for undici's callbacks. */
function respond(data: Dispatcher.StreamFactoryData<ProxyExchange>): ServerResponse {
  return data.opaque.respond(data.statusCode, data.headers as unknown as string[]);
}

function settled(err: Error | null, data: { opaque: unknown }): void {
  (data.opaque as ProxyExchange).settled(err);
}
