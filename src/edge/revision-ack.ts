/** Options for {@link createRevisionAcker}. */
export interface RevisionAckConfig {
  serverUrl: string;
  token: string;
  edgeId: string;
}

/**
 * Tells the server which route revision this edge fully serves
 * (`POST /api/v1/internal/edges/ack`), so a publish or rollback with `?wait=true` can answer
 * only once the new version is really what users get. Acks are coalesced: while one is in
 * flight only the newest revision is kept. A lost ack costs only the server's bounded wait.
 */
export function createRevisionAcker(config: RevisionAckConfig): { ack(revision: number): void } {
  const url = `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/edges/ack`;
  let pending: number | null = null;
  let sending = false;
  const send = async (): Promise<void> => {
    sending = true;
    while (pending !== null) {
      const revision = pending;
      pending = null;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ edge_id: config.edgeId, revision }),
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
      } catch {
        // The server is away; the snapshot after reconnecting is acknowledged instead.
      }
    }
    sending = false;
  };
  return {
    ack(revision) {
      pending = revision;
      if (!sending) void send();
    },
  };
}
