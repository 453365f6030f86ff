/**
 * The memory of a process tree, read from /proc: RSS from `status` and PSS (resident memory
 * with shared pages split between the processes that share them) from `smaps_rollup`.
 * Linux only, like the measurements it reproduces.
 */
import { readFile, readdir } from 'node:fs/promises';

/** One process and what it holds. */
export interface ProcessMemory {
  pid: number;
  ppid: number;
  /** Its command line, arguments joined by spaces. */
  argv: string[];
  rssBytes: number;
  /** Null when the kernel has no smaps_rollup (before 4.14). */
  pssBytes: number | null;
}

async function readProcess(pid: number): Promise<ProcessMemory | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (status === null) return null;
  const field = (text: string, name: string): number | null => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : null;
  };
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
  return {
    pid, argv,
    ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    rssBytes: field(status, 'VmRSS') ?? 0,
    pssBytes: field(rollup, 'Pss'),
  };
}

/** Every live process, by pid. */
export async function allProcesses(): Promise<Map<number, ProcessMemory>> {
  const out = new Map<number, ProcessMemory>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const proc = await readProcess(Number(name));
    if (proc !== null) out.set(proc.pid, proc);
  }
  return out;
}

/** `root` and all its descendants, parents before children. */
export async function processTree(root: number): Promise<ProcessMemory[]> {
  const procs = await allProcesses();
  const out: ProcessMemory[] = [];
  const visit = (pid: number) => {
    const proc = procs.get(pid);
    if (proc === undefined) return;
    out.push(proc);
    for (const child of procs.values()) if (child.ppid === pid) visit(child.pid);
  };
  visit(root);
  return out;
}

/** The Slipway role of a process (`up`, `server`, `edge`, `agent`), from its last argument. */
export function roleOf(proc: ProcessMemory): string {
  const last = proc.argv.at(-1) ?? '';
  return ['up', 'server', 'edge', 'agent'].includes(last) ? last : proc.argv.slice(0, 3).join(' ');
}
