/**
 * `slipway agent`: owns runtime instances on one host. Static sites need none, so for now the
 * agent only proves it can reach the control plane with its internal key and reports that;
 * dynamic apps (runtime drivers, health checks, re-adoption) build on this process.
 */

/** Options for {@link startAgent}. */
export interface AgentOptions {
  serverUrl: string;
  token: string;
  /** How often to check in with the server (default 10 s). */
  intervalMs?: number;
  log?: (message: string) => void;
}

/** A running agent. */
export interface RunningAgent {
  /** True once the server accepted the agent's key. */
  readonly connected: boolean;
  close(): Promise<void>;
}

/** Starts checking in with the server; failures are logged and retried, never fatal. */
export function startAgent(options: AgentOptions): RunningAgent {
  const log = options.log ?? ((m: string) => console.log(m));
  let connected = false;
  let stopped = false;
  const check = async () => {
    try {
      const res = await fetch(`${options.serverUrl}/api/v1/internal/routes`, {
        headers: { authorization: `Bearer ${options.token}` },
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      const ok = res.ok;
      if (ok !== connected) log(ok ? 'agent: connected to the server' : `agent: the server refused the agent (${res.status})`);
      connected = ok;
    } catch {
      if (connected) log('agent: lost the server; running instances (none yet) keep running');
      connected = false;
    }
  };
  void check();
  const timer = setInterval(() => {
    if (!stopped) void check();
  }, options.intervalMs ?? 10_000);
  return {
    get connected() {
      return connected;
    },
    close: async () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
