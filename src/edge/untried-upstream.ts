import type { IncomingMessage } from 'node:http';
import { isUpstreamDown, pickUpstream, type ProxyTarget } from './pick-upstream.js';

/**
 * The instance a request (or handshake) whose connect failed goes to next: the usual choice
 * among those not marked down ({@link pickUpstream}), but never one this request has tried
 * already; -1 when none is left, so the caller answers 503 with `Retry-After`.
 *
 * The down marks alone do not end the retries: a connect that fails more slowly than a mark
 * lasts (EHOSTUNREACH after an ARP timeout takes about 3 s, a mark 1 s) finds the instance it
 * marked first up again, and two such addresses would take turns until the client left.
 */
export function pickUntried(target: ProxyTarget, req: IncomingMessage, tried: ReadonlySet<number>): number {
  const picked = pickUpstream(target, req);
  if (picked === -1 || !tried.has(picked)) return picked;
  // The pick fell on a tried one whose mark has run out: any other live one will do.
  const now = Date.now();
  for (let index = 0; index < target.upstreams.length; index++) {
    if (!tried.has(index) && !isUpstreamDown(target, index, now)) return index;
  }
  return -1;
}
