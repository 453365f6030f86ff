import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * What an instance's TCP sockets look like, read from /proc: the listening ports of its
 * process tree (to tell "listens on the wrong port" from "does not listen"), and how many
 * connections are open to its port (to know when draining is done). Linux only; on any
 * read error the answers are empty, which callers treat as "unknown".
 */

interface TcpRow {
  localPort: number;
  state: number;
  inode: string;
}

const LISTEN = 0x0a;
const ESTABLISHED = 0x01;

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

/** `pid` and all its descendants, found through the parent pid of every process. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function socketInodes(pids: number[]): Set<string> {
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

/** TCP ports the process tree of `pid` listens on, sorted. */
export function listeningPorts(pid: number): number[] {
  const tree = processTree(pid);
  const mine = socketInodes(tree);
  const ports = new Set<number>();
  for (const row of readTcpTable(pid)) if (row.state === LISTEN && mine.has(row.inode)) ports.add(row.localPort);
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
