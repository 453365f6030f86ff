import type { RouteRelease } from '../core/routes.js';
import { NOT_FOUND, NO_UPSTREAM, canned, type CannedResponse } from './canned-responses.js';
import type { ProxyTarget } from './pick-upstream.js';
import type { RouteTable } from './route-table.js';
import type { WakeAnswer, WakeClient } from './wake-client.js';

/** The dynamic version a host names: the active one of `<slug>`, or the one of `v<N>--<slug>`. */
export interface HostVersion {
  readonly deploymentId: string;
  readonly release: RouteRelease;
  readonly proxy: ProxyTarget;
}

/** Resolves `host` to the dynamic version it serves; null for unknown hosts and static releases. */
export function hostVersion(table: RouteTable, host: string): HostVersion | null {
  const entry = table.active(host);
  if (entry !== undefined) {
    const release = entry.route.active;
    return entry.proxy === null || release === null ? null : { deploymentId: entry.route.deployment_id, release, proxy: entry.proxy };
  }
  const preview = table.preview(host);
  const proxy = preview?.entry.previewProxies.get(preview.release.version_number);
  return preview == null || proxy === undefined ? null : { deploymentId: preview.entry.route.deployment_id, release: preview.release, proxy };
}

/** What {@link waitForWake} needs. */
export interface WakeWait {
  table: RouteTable;
  wake: WakeClient;
  host: string;
  version: HostVersion;
  /** The longest the handshake waits for an instance; then 503 with `Retry-After`. */
  waitMs: number;
  /** The client left, or the edge is closing. */
  signal: AbortSignal;
}

/** The version with instances to tunnel to, or the answer the handshake gets instead. */
export type WakeOutcome = { version: HostVersion } | { refusal: CannedResponse } | { aborted: true };

/**
 * Wakes a dynamic version with no instance for a websocket handshake and waits (at most
 * `waitMs`) until the route gives it one. Unlike a page load, a handshake cannot be answered
 * with a page that reloads itself, and a client library that gets 503 usually backs off for
 * seconds: so it waits for the boot here, a cold start being about as long as a client's
 * retry. The wake is asked again every `retry_after_s` meanwhile, so a boot that fails is
 * answered `502` at once instead of at the end of the wait.
 */
export async function waitForWake(o: WakeWait): Promise<WakeOutcome> {
  const target = { deploymentId: o.version.deploymentId, versionNumber: o.version.release.version_number };
  const deadline = Date.now() + o.waitMs;
  let answer = await o.wake.wake(target);
  for (;;) {
    if (o.signal.aborted) return { aborted: true };
    const now = hostVersion(o.table, o.host);
    // The deployment or version left the routes while it booted.
    if (now === null) return { refusal: NOT_FOUND };
    if (now.proxy.upstreams.length > 0) return { version: now };
    if (answer.state !== 'starting') return { refusal: wakeRefusal(answer) };
    const left = deadline - Date.now();
    if (left <= 0) return { refusal: wakeRefusal(answer) };
    const event = await nextEvent(o.table.nextChange(), Math.min(left, Math.max(answer.retry_after_s, 1) * 1000), o.signal);
    if (event === 'timer') answer = await o.wake.wake(target);
  }
}

/** The handshake's answer when there is no instance to tunnel to: what a plain request would get, minus the page. */
export function wakeRefusal(answer: WakeAnswer): CannedResponse {
  const seconds = Math.max(1, Math.round(answer.retry_after_s));
  switch (answer.state) {
    case 'starting':
      return retryLater(503, seconds, 'Starting; retry shortly.\n');
    case 'failed':
      return retryLater(502, seconds, 'This version could not be started.\n');
    case 'not_found':
      return NOT_FOUND;
    case 'unavailable':
      return NO_UPSTREAM;
    default:
      return answer.state satisfies never;
  }
}

function retryLater(status: 502 | 503, seconds: number, text: string): CannedResponse {
  return canned(status, text, { headers: ['Retry-After', String(seconds)] });
}

/** Whichever comes first: the next route change, `ms`, or the abort. */
function nextEvent(change: Promise<void>, ms: number, signal: AbortSignal): Promise<'change' | 'timer' | 'aborted'> {
  return new Promise((resolve) => {
    const done = (event: 'change' | 'timer' | 'aborted') => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(event);
    };
    const onAbort = () => done('aborted');
    const timer = setTimeout(() => done('timer'), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    void change.then(() => done('change'));
  });
}
