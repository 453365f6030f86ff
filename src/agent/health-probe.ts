import { request } from 'node:http';

/**
 * How soon a starting instance whose port still refuses connections is checked again, in place
 * of `interval_ms`: an eighth of the time since the start, from 25 ms up to 50 ms, so an app
 * that opens its port at 0.3 s is seen within ~40 ms, not at the next interval (at 1 s, or
 * 2 s), and a slow boot costs 20 refused connects a second at most, which cost next to nothing.
 */
const STARTING_RECHECK = { minMs: 25, maxMs: 50, share: 1 / 8 } as const;

/** The delay before the next check of a starting instance that refused, `sinceStartMs` after its start. */
export function startingRecheckMs(sinceStartMs: number, intervalMs: number): number {
  const { minMs, maxMs, share } = STARTING_RECHECK;
  return Math.min(Math.max(minMs, sinceStartMs * share), maxMs, intervalMs);
}

/** The outcome of one health check. */
export type ProbeResult =
  | { ok: true; status: number }
  | { ok: false; status: number | null; kind: 'refused' | 'timeout' | 'status' | 'error'; message: string };

/**
 * One `GET path` against `address` (`host:port`) with a deadline. 2xx passes; anything else,
 * a refused connection or a timeout fails, with words a user can act on.
 */
export function probeHealth(address: string, path: string, timeoutMs: number): Promise<ProbeResult> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'slipway-health-check' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status >= 200 && status < 300) done({ ok: true, status });
      else done({ ok: false, status, kind: 'status', message: `GET ${path} answered ${status}` });
    });
    const timer = setTimeout(() => done({ ok: false, status: null, kind: 'timeout', message: `GET ${path} took longer than ${timeoutMs} ms` }), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done({ ok: false, status: null, kind: 'refused', message: `nothing listens on port ${port}` });
      else done({ ok: false, status: null, kind: 'error', message: `GET ${path} failed: ${err.code ?? err.message}` });
    });
    req.end();
  });
}
