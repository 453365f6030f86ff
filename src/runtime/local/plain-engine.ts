/**
 * The fallback mode: the instance is an ordinary child process of Slipway's user, with no
 * sandbox, no limits and the host's network. It listens on a loopback port the driver picks
 * (the spec's `port` is overridden: `PORT` is set to the picked one), so instances never
 * collide and are reachable only from this host.
 */
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { groupExists, isProcessAlive, signalGroup } from '../../util/process-group.js';
import type { InstanceEngine } from './instance-engine.js';
import { spawnDetached } from './spawn-detached.js';

/** An engine that runs instances as plain processes. */
export function createPlainEngine(): InstanceEngine {
  return {
    mode: 'process',
    async prepare() {},
    async start(spec, onExit) {
      const port = await freeLoopbackPort();
      const env = { HOME: tmpdir(), TMPDIR: tmpdir(), ...spec.env, PORT: String(port) };
      const pid = await spawnDetached({
        argv: ['/bin/sh', '-c', spec.runCommand],
        env,
        cwd: spec.appDir,
        logPath: spec.logPath,
        onExit: (code, signal) => onExit(spec.id, code, signal),
      });
      return { id: spec.id, pid, address: `127.0.0.1:${port}`, startedAt: Date.now(), data: { mode: 'process', parentPid: process.pid } };
    },
    isRunning(handle) {
      // A zombie leader means the command ended; a reaped leader with live group members
      // (the shell exited, its children did not) is still running.
      if (isProcessAlive(handle.pid)) return true;
      return groupExists(handle.pid) && !pidExists(handle.pid);
    },
    async oomKilled() {
      return false;
    },
    terminate(handle) {
      signalGroup(handle.pid, 'SIGTERM');
    },
    async kill(handle) {
      const deadline = Date.now() + 5000;
      while (groupExists(handle.pid) && Date.now() < deadline) {
        signalGroup(handle.pid, 'SIGKILL');
        // A zombie leader keeps the group "existing" until reaped; nothing more to kill then.
        if (!isProcessAlive(handle.pid) && pidExists(handle.pid)) return;
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
