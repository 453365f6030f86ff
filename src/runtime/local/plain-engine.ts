/**
 * The fallback mode: the instance is an ordinary child process of Slipway's user, with no
 * sandbox, no limits and the host's network. It listens on a loopback port the driver picks
 * (the spec's `port` is overridden: `PORT` is set to the picked one), so instances never
 * collide and are reachable only from this host.
 */
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { groupExists, isProcessAlive, signalGroup } from '../../util/process-group.js';
import { hostPath } from '../../util/python-shim.js';
import { pidOf, type InstanceEngine } from './instance-engine.js';
import { processTree } from './process-tree.js';
import { spawnDetached } from './spawn-detached.js';

/** An engine that runs instances as plain processes. */
export function createPlainEngine(): InstanceEngine {
  return {
    mode: 'process',
    async prepare() {},
    async start(spec, onExit) {
      const port = await freeLoopbackPort();
      const env: Record<string, string> = { HOME: tmpdir(), TMPDIR: tmpdir(), ...spec.env, PORT: String(port) };
      // No sandbox makes the neutral python shim folder here: use the package's own.
      if (env.PATH !== undefined) env.PATH = hostPath(env.PATH);
      const pid = await spawnDetached({
        argv: ['/bin/sh', '-c', spec.runCommand],
        env,
        cwd: spec.appDir,
        logPath: spec.logPath,
        onExit: (code, signal) => onExit(spec.id, code, signal),
      });
      return {
        id: spec.id, address: `127.0.0.1:${port}`, port, startedAt: Date.now(), data: { mode: 'process', pid, parentPid: process.pid },
      };
    },
    isRunning(handle) {
      const pid = pidOf(handle);
      // A zombie leader means the command ended; a reaped leader with live group members
      // (the shell exited, its children did not) is still running.
      if (isProcessAlive(pid)) return true;
      return groupExists(pid) && !pidExists(pid);
    },
    members(handle) {
      // The leader's descendants: what the run command started. A process that left the tree
      // (double fork) is not found here; it still counts as running through its process group.
      return processTree(pidOf(handle), null);
    },
    async oomKilled() {
      return false;
    },
    terminate(handle) {
      signalGroup(pidOf(handle), 'SIGTERM');
    },
    async kill(handle) {
      const pid = pidOf(handle);
      const deadline = Date.now() + 5000;
      while (groupExists(pid) && Date.now() < deadline) {
        signalGroup(pid, 'SIGKILL');
        // A zombie leader keeps the group "existing" until reaped; nothing more to kill then.
        if (!isProcessAlive(pid) && pidExists(pid)) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async release() {},
    async sweep() {},
  };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A loopback port free right now. Another process could take it before the app binds it; the
 * health check then reports the instance as not listening and the agent restarts it.
 */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
