import { MAX_USAGE_REPORT } from '../core/wake.js';
import type { EdgeLogger } from './logger.js';

/** The control plane's answer to a wake (`POST /api/v1/internal/wake`), or the edge's own. */
export interface WakeAnswer {
  /**
   * `starting`: instances are on their way. `failed`: the version could not boot. `unavailable`:
   * nothing to wake (the control plane is away, or the version is not the edge's to wake).
   * `not_found`: no such version any more.
   */
  readonly state: 'starting' | 'failed' | 'unavailable' | 'not_found';
  readonly retry_after_s: number;
}

/** A dynamic version to wake. */
export interface WakeTarget {
  readonly deploymentId: string;
  readonly versionNumber: number;
}

/** Options for {@link createWakeClient}. */
export interface WakeClientConfig {
  serverUrl: string;
  /** An internal API key. */
  token: string;
  logger: EdgeLogger;
  /** How often requests served are reported, at most; default 2 s. */
  usageReportMs?: number;
  /** How long an answer is reused for the same version; default 1 s (10 s for `failed`). */
  answerTtlMs?: { starting: number; failed: number };
  /** Tests inject their own. */
  fetch?: typeof fetch;
  now?: () => number;
}

/** The edge's side of waking versions on demand. */
export interface WakeClient {
  /**
   * Asks the control plane to start a version with no instance. Concurrent calls for the same
   * version share one request, and its answer is reused for a moment, so a burst of requests
   * to a sleeping version costs the control plane one call.
   */
  wake(target: WakeTarget): Promise<WakeAnswer>;
  /** Notes a request served by `versionId`; reported in batches, at most once per interval. */
  used(versionId: string): void;
  /** Sends what is pending and stops the timer. */
  close(): Promise<void>;
}

/** Past this many remembered answers, expired ones are dropped. */
const MAX_KEPT_ANSWERS = 1000;
const AWAY: WakeAnswer = { state: 'unavailable', retry_after_s: 5 };
const NOT_FOUND: WakeAnswer = { state: 'not_found', retry_after_s: 0 };

/** Creates the wake client of one edge. */
export function createWakeClient(config: WakeClientConfig): WakeClient {
  const base = config.serverUrl.replace(/\/+$/, '');
  const doFetch = config.fetch ?? fetch;
  const now = config.now ?? Date.now;
  const ttl = config.answerTtlMs ?? { starting: 1000, failed: 10_000 };
  const inFlight = new Map<string, Promise<WakeAnswer>>();
  const answers = new Map<string, { answer: WakeAnswer; until: number }>();
  let used = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let reporting: Promise<void> = Promise.resolve();

  const post = (path: string, body: unknown) => doFetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });

  const ask = async (target: WakeTarget): Promise<WakeAnswer> => {
    try {
      const res = await post('/api/v1/internal/wake', { deployment_id: target.deploymentId, version_number: target.versionNumber });
      const json = (await res.json().catch(() => ({}))) as { data?: WakeAnswer; error?: { code?: string } };
      if (json.error?.code === 'version_not_found') return NOT_FOUND;
      if (!res.ok || json.data === undefined) return AWAY;
      return json.data;
    } catch (err) {
      config.logger.warn({ err, ...target }, 'could not ask the control plane to start a version');
      return AWAY;
    }
  };

  const report = async (): Promise<void> => {
    timer = undefined;
    const ids = [...used];
    used = new Set();
    // In chunks the server accepts: a rejected report would let serving versions idle out.
    for (let i = 0; i < ids.length; i += MAX_USAGE_REPORT) {
      const chunk = ids.slice(i, i + MAX_USAGE_REPORT);
      try {
        const res = await post('/api/v1/internal/usage', { version_ids: chunk });
        const body = await res.text();
        if (!res.ok) config.logger.warn({ status: res.status, body: body.slice(0, 500), versions: chunk.length }, 'the control plane refused a usage report');
      } catch (err) {
        // Only the idle clock of these versions suffers: they may stop one interval early.
        config.logger.warn({ err }, 'could not report version usage');
      }
    }
  };

  return {
    wake(target) {
      const key = `${target.deploymentId}:${target.versionNumber}`;
      const cached = answers.get(key);
      if (cached !== undefined && cached.until > now()) return Promise.resolve(cached.answer);
      let pending = inFlight.get(key);
      if (pending === undefined) {
        pending = ask(target).then((answer) => {
          inFlight.delete(key);
          // Every answer is kept a moment, so heavy traffic to a version that cannot be served
          // (or a control plane that is away) costs one call per version per moment.
          if (answers.size >= MAX_KEPT_ANSWERS) for (const [k, a] of answers) if (a.until <= now()) answers.delete(k);
          answers.set(key, { answer, until: now() + (answer.state === 'failed' ? ttl.failed : ttl.starting) });
          return answer;
        });
        inFlight.set(key, pending);
      }
      return pending;
    },
    used(versionId) {
      used.add(versionId);
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        reporting = reporting.then(report);
      }, config.usageReportMs ?? 2000);
      timer.unref();
    },
    async close() {
      clearTimeout(timer);
      reporting = reporting.then(report);
      await reporting;
      await Promise.allSettled(inFlight.values());
    },
  };
}
