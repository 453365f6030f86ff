import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * What a local instance's TCP sockets look like, read from /proc: the ports its processes
 * listen on (to tell "listens on the wrong port" from "does not listen") and how many
 * connections are open to its port (to know when draining is done). Linux only; on any read
 * error the answers are empty, which callers treat as "unknown".
 *
 * Cost: one pass over the fds of the instance's own processes plus its namespace's TCP tables;
 * never a walk of the whole of /proc (the members come from the instance's cgroup or process
 * tree, which the engine already knows).
 */

interface TcpRow {
  localPort: number;
  state: number;
  inode: string;
}

const LISTEN = 0x0a;
const ESTABLISHED = 0x01;

/** The TCP sockets of the network namespace `pid` is in (IPv4 and IPv6). */
function readTcpTable(pid: number): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1]!;
      rows.push({ localPort: parseInt(local.slice(local.lastIndexOf(':') + 1), 16), state: parseInt(cols[3]!, 16), inode: cols[9]! });
    }
  }
  return rows;
}

function socketInodes(pids: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    for (const fd of safeReaddir(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return inodes;
}

/**
 * TCP ports the processes `pids` listen on, sorted. The sockets are looked up in the network
 * namespace of the first pid: all of an instance's processes share one.
 */
export function listeningPorts(pids: readonly number[]): number[] {
  const first = pids[0];
  if (first === undefined) return [];
  const mine = socketInodes(pids);
  if (mine.size === 0) return [];
  const ports = new Set<number>();
  for (const row of readTcpTable(first)) if (row.state === LISTEN && mine.has(row.inode)) ports.add(row.localPort);
  return [...ports].sort((a, b) => a - b);
}

/**
 * Every TCP port listened on in the network namespace `pid` is in, sorted: for an instance that
 * has a namespace of its own (a container's), every socket in it is the instance's.
 */
export function namespaceListeningPorts(pid: number): number[] {
  const ports = new Set<number>();
  for (const row of readTcpTable(pid)) if (row.state === LISTEN) ports.add(row.localPort);
  return [...ports].sort((a, b) => a - b);
}

/** Open (established) connections whose local port is `port`, as seen from `pid`'s namespace. */
export function establishedConnections(pid: number, port: number): number {
  return readTcpTable(pid).filter((r) => r.state === ESTABLISHED && r.localPort === port).length;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
