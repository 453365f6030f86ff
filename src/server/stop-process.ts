import { processAlive } from '../util/process-alive.js';
import { waitFor } from '../util/wait-for.js';

/**
 * SIGTERM to `pid` (a process that is not our child, so no exit event), then SIGKILL after
 * `graceMs`; resolves once it is gone.
 */
export async function stopProcess(pid: number, graceMs = 15_000): Promise<void> {
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  send('SIGTERM');
  try {
    await waitFor(() => !processAlive(pid), { timeoutMs: graceMs, intervalMs: 50, description: `process ${pid} to exit` });
  } catch {
    send('SIGKILL');
    await waitFor(() => !processAlive(pid), { timeoutMs: 5_000, intervalMs: 50, description: `process ${pid} to die` });
  }
}
