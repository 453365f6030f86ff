import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeLogger } from './logger.js';

/** ACME HTTP-01: `/.well-known/acme-challenge/<token>`. Domain ownership tokens are never answered by the edge. */
const CHALLENGE_RE = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,128})$/;
const PREFIX = '/.well-known/acme-challenge/';

/** How long the edge waits for the server's answer; a CA retries a 404 anyway. */
const LOOKUP_TIMEOUT_MS = 3_000;
/** Answers found are kept this long (a CA asks several times from several places). */
const ANSWER_TTL_MS = 10_000;
/**
 * Misses are kept this long: a flood of made-up tokens on a served host reaches the server at
 * most once a second per host and token, and an order created a moment ago is still answered
 * at the CA's next try.
 */
const MISS_TTL_MS = 1_000;
/** At most this many answers (and as many misses) are kept; past it the oldest go. */
const MAX_KEPT = 1000;
/** At most this many lookups wait on the server at once; past it the edge answers 503 (the CA retries). */
export const MAX_IN_FLIGHT_LOOKUPS = 32;
/** An answer is an ACME key authorization: short. */
const MAX_BODY_BYTES = 4096;

/** Options of {@link createChallengeHandler}. */
export interface ChallengeHandlerConfig {
  serverUrl: string;
  /** An internal API key. */
  token: string;
  logger: EdgeLogger;
  /**
   * Whether the edge's routes serve `host`. Only those are looked up: ACME orders exist only
   * for served hosts, so any other host is a plain 404 that never reaches the server.
   */
  serves: (host: string) => boolean;
  timeoutMs?: number;
  /** Tests inject their own. */
  fetch?: typeof fetch;
  /** The clock of the kept answers and misses (epoch ms); tests inject their own. */
  now?: () => number;
}

/** Answers ACME challenge paths on plain HTTP, before the host's app. */
export interface ChallengeHandler {
  /** True when `url` is a challenge path (well-formed or not): the handler answers it, never the app. */
  matches(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse, host: string | null): void;
}

/** A bounded map of `host token` → value with an expiry; the oldest entry goes first. */
class Kept<T> {
  readonly #entries = new Map<string, { value: T; until: number }>();

  constructor(private readonly now: () => number) {}

  get(key: string): T | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.until > this.now()) return hit.value;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= MAX_KEPT) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: this.now() + ttlMs });
  }
}

/**
 * Creates the edge's ACME challenge answerer. For a host its routes serve, it asks the server
 * (`GET /api/v1/internal/challenges/<token>?host=<host>`), which knows the key authorizations of
 * open ACME orders. A token must be 1–128 of `[A-Za-z0-9_-]`; anything else, a host the routes
 * do not serve, an unknown token, or a server that cannot be reached is a plain 404 (the CA asks
 * again); more than {@link MAX_IN_FLIGHT_LOOKUPS} lookups at once is a 503. Found answers are
 * kept 10 s, misses 1 s.
 */
export function createChallengeHandler(config: ChallengeHandlerConfig): ChallengeHandler {
  const base = config.serverUrl.replace(/\/+$/, '');
  const doFetch = config.fetch ?? fetch;
  const now = config.now ?? Date.now;
  const answers = new Kept<string>(now);
  const misses = new Kept<true>(now);
  let inFlight = 0;

  const ask = async (token: string, host: string): Promise<string | null> => {
    const res = await doFetch(`${base}/api/v1/internal/challenges/${token}?host=${encodeURIComponent(host)}`, {
      headers: { authorization: `Bearer ${config.token}` },
      signal: AbortSignal.timeout(config.timeoutMs ?? LOOKUP_TIMEOUT_MS),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return null;
    }
    const answer = (await res.json()) as { data?: { body?: unknown } };
    const body = answer.data?.body;
    return typeof body !== 'string' || body.length > MAX_BODY_BYTES ? null : body;
  };

  const send = (res: ServerResponse, status: number, body: string) => {
    const bytes = Buffer.from(body);
    const headers: Record<string, string | number> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' };
    if (status === 503) headers['Retry-After'] = 1;
    res.writeHead(status, headers);
    res.end(bytes);
  };

  return {
    matches: (url) => url !== undefined && url.startsWith(PREFIX),
    handle(req, res, host) {
      const match = CHALLENGE_RE.exec(req.url ?? '');
      if (match === null || host === null || (req.method !== 'GET' && req.method !== 'HEAD') || !config.serves(host)) return send(res, 404, 'Not Found\n');
      const token = match[1]!;
      const key = `${host} ${token}`;
      const kept = answers.get(key);
      if (kept !== undefined) return send(res, 200, kept);
      if (misses.get(key) !== undefined) return send(res, 404, 'Not Found\n');
      if (inFlight >= MAX_IN_FLIGHT_LOOKUPS) return send(res, 503, 'Busy\n');
      inFlight += 1;
      ask(token, host).then(
        (body) => {
          if (body === null) {
            misses.set(key, true, MISS_TTL_MS);
            return send(res, 404, 'Not Found\n');
          }
          answers.set(key, body, ANSWER_TTL_MS);
          return send(res, 200, body);
        },
        (err: unknown) => {
          config.logger.warn({ err, host }, 'challenge lookup failed');
          send(res, 404, 'Not Found\n');
        },
      ).catch(() => res.destroy()).finally(() => { inFlight -= 1; });
    },
  };
}
