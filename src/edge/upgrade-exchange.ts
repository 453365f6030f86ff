import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pagesFor, type EdgePages } from './branded-pages.js';
import { cannedBytes, type CannedResponse } from './canned-responses.js';
import { forwardRequestHeaders } from './forward-headers.js';
import { forwardedProtoOf } from './tls-request.js';
import type { EdgeLogger } from './logger.js';
import { markUpstreamDown, type ProxyTarget } from './pick-upstream.js';
import { pipeResponse, switchingHead } from './raw-response.js';
import { pickUntried } from './untried-upstream.js';
import type { UpstreamPools, UpstreamSlot } from './upstream-pool.js';

// Weak: a wake's refusals are made per answer (their Retry-After is the server's).
const REFUSALS = new WeakMap<CannedResponse, Buffer>();
/** Answers a handed-over socket with a canned response and closes it. */
export function refuse(socket: Duplex, response: CannedResponse): void {
  let bytes = REFUSALS.get(response);
  if (bytes === undefined) REFUSALS.set(response, (bytes = cannedBytes(response)));
  if (socket.writable) socket.end(bytes, () => socket.destroy());
  else socket.destroy();
}

/**
 * Errors meaning the connection to the instance never opened: nothing reached it, and its
 * address is dead (nothing listens, or the instance's network is gone). As for a plain request
 * (proxy-handler.ts) the address is skipped for a moment and the handshake, which has no body,
 * goes to another instance, or gets 503 with `Retry-After`, never 502.
 */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EINVAL', 'EADDRNOTAVAIL']);

/** What an {@link UpgradeExchange} needs: the handler's settings, defaults filled in. */
export interface ExchangeSettings {
  pools: UpstreamPools;
  logger: EdgeLogger;
  forwardedProto: 'http' | 'https';
  timeoutMs: number;
  idleTimeoutMs: number;
  /** How long an instance whose connect failed is skipped (`markUpstreamDown`). */
  downMs: number;
  /** Every exchange under way, for closeAll(). */
  exchanges: Set<UpgradeExchange>;
}

/** One upgrade request: forwarded, then either tunnelled (101) or answered and closed. */
export class UpgradeExchange {
  readonly #c: ExchangeSettings;
  readonly #req: IncomingMessage;
  readonly #client: Duplex;
  readonly #head: Buffer;
  readonly #target: ProxyTarget;
  #state: 'waiting' | 'answering' | 'tunnel' | 'done' = 'waiting';
  #slot: UpstreamSlot | null = null;
  #upstreamReq: ClientRequest | null = null;
  #upstream: Duplex | null = null;
  /** The upgrade was forwarded (not for HTTP/1.0, which has none). */
  #asked = false;
  /** Instances whose connect failed for this handshake; null until one does. */
  #tried: Set<number> | null = null;
  readonly #onClientGone = () => this.destroy();

  constructor(settings: ExchangeSettings, o: { req: IncomingMessage; client: Duplex; head: Buffer; target: ProxyTarget }) {
    this.#c = settings;
    this.#req = o.req;
    this.#client = o.client;
    this.#head = o.head;
    this.#target = o.target;
    settings.exchanges.add(this);
    o.client.once('close', this.#onClientGone);
  }

  /** Forwards the handshake to `this.#target.upstreams[index]`. */
  send(index: number): void {
    const address = this.#target.upstreams[index] as string;
    const colon = address.lastIndexOf(':');
    this.#slot = this.#c.pools.acquire(address);
    const req = this.#req;
    // Upgrade is HTTP/1.1's: an HTTP/1.0 request's Upgrade header must be ignored (RFC 9110 §7.8).
    const upgrade = req.httpVersion === '1.1';
    this.#asked = upgrade;
    const upstreamReq = request({
      host: address.slice(0, colon).replace(/^\[|\]$/g, ''),
      port: Number(address.slice(colon + 1)),
      method: req.method,
      path: req.url,
      headers: forwardRequestHeaders(req, { proto: forwardedProtoOf(req, this.#c.forwardedProto), upgrade }),
      agent: false,
      setHost: false,
    });
    this.#upstreamReq = upstreamReq;
    let connected = false;
    upstreamReq.once('socket', (socket) => socket.once('connect', () => (connected = true)));
    upstreamReq.setTimeout(this.#c.timeoutMs, () => this.#timedOut(address));
    upstreamReq.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => this.#tunnel(res, socket, head));
    upstreamReq.once('response', (res: IncomingMessage) => this.#answer(res));
    upstreamReq.on('error', (err: Error & { code?: string }) => {
      if (this.#state !== 'waiting') return this.destroy();
      this.#release();
      if (!connected && NOT_CONNECTED.has(err.code ?? '')) return this.#connectFailed(index, err);
      this.#c.logger.warn({ err, upstream: address, code: err.code }, 'websocket upstream unreachable');
      this.#finish(this.#pages.badGateway);
    });
    upstreamReq.end();
  }

  /**
   * Nothing reached the instance at `index`: mark it down and try the next live one this
   * handshake has not tried (so this ends even when the marks run out meanwhile), else 503
   * with `Retry-After`.
   */
  #connectFailed(index: number, err: Error & { code?: string }): void {
    markUpstreamDown(this.#target, index, Date.now() + this.#c.downMs);
    if (!this.#client.writable) return this.destroy();
    const tried = (this.#tried ??= new Set());
    tried.add(index);
    const next = pickUntried(this.#target, this.#req, tried);
    if (next !== -1) return this.send(next);
    this.#c.logger.warn({ err, upstream: this.#target.upstreams[index], code: err.code }, 'no reachable instance for a websocket');
    this.#finish(this.#pages.noUpstream);
  }

  /** Cuts both sides at once (the client left, a tunnel failed, or the edge is closing). */
  destroy(): void {
    if (this.#state === 'done') return;
    this.#end();
    this.#upstreamReq?.destroy();
    this.#upstream?.destroy();
    this.#client.destroy();
  }

  /** The upstream switched protocols: pass its 101 on, then pipe bytes both ways untouched. */
  #tunnel(res: IncomingMessage, upstream: Socket, head: Buffer): void {
    if (this.#state !== 'waiting') {
      upstream.destroy();
      return this.destroy();
    }
    this.#upstream = upstream;
    if (!this.#asked) {
      // A switch nobody asked for is not something the client can follow.
      this.#c.logger.warn({ upstream: this.#address }, 'upstream switched protocols unasked');
      upstream.destroy();
      return this.#finish(this.#pages.badGateway);
    }
    this.#state = 'tunnel';
    const client = this.#client;
    upstream.on('error', () => this.destroy());
    // A clean close from the instance (say, after a WebSocket close frame): let what it sent
    // reach the client before its socket goes too.
    upstream.once('close', () => {
      if (this.#state === 'done') return;
      this.#end();
      client.end(() => client.destroy());
    });
    // Every byte of the tunnel passes through the upstream socket, so its inactivity timer
    // covers both directions.
    upstream.setTimeout(this.#c.idleTimeoutMs, () => {
      this.#c.logger.info({ upstream: this.#address, idle_ms: this.#c.idleTimeoutMs }, 'closing an idle tunnel');
      this.destroy();
    });
    client.write(switchingHead(res));
    if (head.length > 0) client.write(head);
    if (this.#head.length > 0) upstream.write(this.#head);
    upstream.pipe(client);
    client.pipe(upstream);
    client.resume();
  }

  /** Any other answer: the client gets it whole, and the connection ends with it. */
  #answer(res: IncomingMessage): void {
    if (this.#state !== 'waiting') return this.destroy();
    this.#state = 'answering';
    // From here the timer guards a stalled body, not a slow answer.
    this.#upstreamReq?.setTimeout(this.#c.idleTimeoutMs);
    pipeResponse(res, this.#client, {
      head: this.#req.method === 'HEAD',
      chunked: this.#req.httpVersion === '1.1',
      done: () => {
        if (this.#state === 'done') return;
        this.#end();
        this.#upstreamReq?.destroy();
        this.#client.destroy();
      },
    });
  }

  #timedOut(address: string): void {
    if (this.#state === 'tunnel' || this.#state === 'done') return;
    if (this.#state === 'answering') return this.destroy();
    this.#c.logger.warn({ upstream: address }, 'upstream did not answer a websocket handshake in time');
    this.#upstreamReq?.destroy();
    this.#finish(this.#pages.gatewayTimeout);
  }

  /** Ends the exchange with a canned answer to the client. */
  #finish(response: CannedResponse): void {
    if (this.#state === 'done') return;
    this.#end();
    refuse(this.#client, response);
  }

  /** Bookkeeping once: in-flight count, the set closeAll() cuts, the client listener. */
  #end(): void {
    this.#state = 'done';
    this.#release();
    this.#c.exchanges.delete(this);
    this.#client.removeListener('close', this.#onClientGone);
  }

  #release(): void {
    if (this.#slot !== null) this.#c.pools.release(this.#slot);
    this.#slot = null;
  }

  /** The edge's own answers for the target's tenant (branded-pages.ts); only refusals ask. */
  get #pages(): EdgePages {
    return pagesFor(this.#target.tenant);
  }

  get #address(): string | undefined {
    return this.#slot?.address;
  }
}
