import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/**
 * Descriptors above stdio this process holds without close-on-exec: ones it inherited (Node
 * opens everything of its own with O_CLOEXEC). Read from `/proc/self/fdinfo`; empty where
 * there is no /proc.
 */
export function inheritedFds(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // the directory listing's own descriptor, closed by now
    }
    const flags = /^flags:\s+([0-7]+)/m.exec(info);
    if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) out.push(fd);
  }
  return out;
}

/**
 * Closes every inherited descriptor except `keep` (and Node's IPC channel), so nothing a
 * parent left open (a test harness's pipe, a supervisor's socket) reaches the processes this
 * one starts: child processes inherit exactly the descriptors without close-on-exec.
 */
export function closeInheritedFds(keep: readonly number[] = []): number[] {
  const channel = Number(process.env.NODE_CHANNEL_FD);
  const closed: number[] = [];
  for (const fd of inheritedFds()) {
    if (keep.includes(fd) || fd === channel) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // already gone
    }
  }
  return closed;
}
