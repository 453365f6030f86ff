import type { InstanceAssignment, InstanceReport } from '../core/runtime.js';

/** Options for {@link createControlPlaneClient}. */
export interface ControlPlaneClientOptions {
  serverUrl: string;
  /** An internal API key. */
  token: string;
  hostId: string;
}

/** One long-poll answer: the host's whole assignment list at `revision`. */
export interface AssignmentPage {
  revision: string;
  assignments: InstanceAssignment[];
}

/** What a report answer means for the agent. */
export type ReportOutcome = 'ok' | 'unknown_instance' | 'failed';

/** The agent's view of the server: assignments in, reports and releases out. */
export interface ControlPlaneClient {
  /** Returns at once when `after` is stale, else waits (up to `waitMs`) for a change. */
  assignments(after: string | undefined, waitMs: number, signal?: AbortSignal): Promise<AssignmentPage>;
  report(report: InstanceReport): Promise<ReportOutcome>;
  /** Ships lines of an instance's output. */
  shipLogs(instanceId: string, lines: Array<{ time: string; line: string }>): Promise<ReportOutcome>;
  /** Streams a blob (a release) to `write`. */
  download(sha256: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
}

/** A client over `fetch`; every call has a deadline so a hung server cannot hang the agent. */
export function createControlPlaneClient(options: ControlPlaneClientOptions): ControlPlaneClient {
  const headers = { authorization: `Bearer ${options.token}` };
  const base = `${options.serverUrl}/api/v1/internal`;
  const host = encodeURIComponent(options.hostId);
  // Reports and logs: a 404 means the server does not know the instance (any more).
  const post = async (path: string, body: unknown): Promise<ReportOutcome> => {
    try {
      const res = await fetch(`${base}${path}`, {
        method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.status === 404) return 'unknown_instance';
      return res.ok ? 'ok' : 'failed';
    } catch {
      return 'failed';
    }
  };
  return {
    async assignments(after, waitMs, signal) {
      const q = new URLSearchParams({ wait_ms: String(waitMs) });
      if (after) q.set('after', after);
      const res = await fetch(`${base}/hosts/${host}/assignments?${q}`, {
        headers, signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(waitMs + 10_000)]) : AbortSignal.timeout(waitMs + 10_000),
      });
      if (!res.ok) throw new Error(`assignments: the server answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return ((await res.json()) as { data: AssignmentPage }).data;
    },
    report: (report) => post(`/hosts/${host}/instances/${encodeURIComponent(report.runtime_instance_id)}/report`, report),
    shipLogs: (instanceId, lines) => post(`/hosts/${host}/instances/${encodeURIComponent(instanceId)}/logs`, { lines }),
    async download(sha256, signal) {
      const res = await fetch(`${base}/blobs/${sha256}`, { headers, signal });
      if (!res.ok || !res.body) throw new Error(`release ${sha256}: the server answered ${res.status}`);
      return res.body;
    },
  };
}
