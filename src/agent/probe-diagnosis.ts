import type { InstanceHandle, RuntimeDriver } from '../runtime/runtime-driver.js';
import type { ProbeResult } from './health-probe.js';
import { wrongPortReason } from './wrong-port.js';

/** A failure's stable code and the words a user can act on. */
export interface Diagnosis {
  code: string;
  reason: string;
}

/**
 * Names what is wrong once an instance's checks have failed for good: not listening at all,
 * listening elsewhere (`assignedPort` is the port the app was told; the handle's may differ
 * where the host picks it), or answering badly.
 */
export async function diagnoseProbe(
  result: ProbeResult & { ok: false }, handle: InstanceHandle | null, ctx: { driver: RuntimeDriver; assignedPort: number },
): Promise<Diagnosis> {
  if (result.kind === 'refused' && handle) {
    const { port } = handle;
    const ports = await ctx.driver.listeningPorts(handle);
    if (ports.length > 0 && !ports.includes(port)) {
      return { code: 'wrong_port', reason: wrongPortReason(ports, port, port !== ctx.assignedPort) };
    }
    if (ports.includes(port)) {
      // Bound to the instance's loopback only (a common default of dev servers): listening,
      // yet refusing the edge, which comes in through the instance's own address.
      return { code: 'not_listening', reason: `the app listens on port ${port} but refuses connections to ${handle.address}: listen on 0.0.0.0, not 127.0.0.1` };
    }
    return { code: 'not_listening', reason: `nothing listens on port ${port}` };
  }
  return { code: 'health_check_failed', reason: result.message };
}
