/**
 * Asks the edge, over one keep-alive connection, for a page until it shows the expected
 * content: how the bench sees the moment a publish or rollback becomes visible.
 */
import { Agent, request } from 'node:http';

/** Wall-clock milliseconds with sub-millisecond precision, comparable to server timestamps. */
export const now = (): number => performance.timeOrigin + performance.now();

/** Options of {@link createEdgeProbe}. */
export interface EdgeProbeOptions {
  port: number;
  host: string;
  /** Delay between two requests while waiting; the time resolution of the measurement. */
  intervalMs: number;
}

/** A poller bound to one edge host. */
export interface EdgeProbe {
  /** GET `path` once: status and body as text (no Accept-Encoding, so the raw file). */
  get(path: string): Promise<{ status: number; text: string }>;
  /**
   * Polls `path` until its body contains `marker`, and returns {@link now} at the answer that
   * did; throws after `timeoutMs` or when `signal` aborts. Failed requests count as "not yet".
   */
  waitForContent(path: string, marker: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<number>;
  close(): void;
}

/** Creates a probe with its own keep-alive agent. */
export function createEdgeProbe(options: EdgeProbeOptions): EdgeProbe {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: options.port, path, agent, headers: { host: options.host }, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('edge request timed out')));
      req.on('error', reject);
      req.end();
    });
  return {
    get,
    async waitForContent(path, marker, { timeoutMs, signal }) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer yet';
      while (Date.now() < deadline) {
        signal?.throwIfAborted();
        try {
          const answer = await get(path);
          const answeredAt = now();
          if (answer.status === 200 && answer.text.includes(marker)) return answeredAt;
          last = `status ${answer.status}`;
        } catch (err) {
          last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, options.intervalMs));
      }
      throw new Error(`the edge did not serve "${marker}" at ${options.host}${path} within ${timeoutMs} ms (last: ${last})`);
    },
    close: () => agent.destroy(),
  };
}
