/**
 * Processes from the outside: finding executables and the edge's pid, CPU pinning with
 * taskset, and CPU time from /proc. Linux only, like the measurements it reproduces.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs a short command (argument array, no shell) and returns its stdout. */
export async function runCommand(argv: readonly string[], timeoutMs = 10_000): Promise<string> {
  const [file, ...args] = argv;
  try {
    const { stdout, stderr } = await execFileAsync(file!, args, { timeout: timeoutMs, encoding: 'utf8' });
    return stdout + stderr;
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; stdout?: string };
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
    throw new Error(`${argv.join(' ')} failed (exit ${String(e.code)})${tail ? `:\n${tail}` : ''}`, { cause: err });
  }
}

/** The absolute path of an executable on PATH (and the sbin folders), or null. */
export async function findExecutable(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const path = join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  return null;
}

interface ProcStat {
  ppid: number;
  /** User + system CPU time in clock ticks, all threads. */
  ticks: number;
}

async function procStat(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  // The command name is in parentheses and may contain spaces: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** Pids whose parent is `parentPid`. */
export async function childPids(parentPid: number): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const out: number[] = [];
  for (const pid of pids) if ((await procStat(pid))?.ppid === parentPid) out.push(pid);
  return out;
}

/** The child of `slipway up` (pid `upPid`) that runs `slipway edge`. */
export async function findEdgePid(upPid: number): Promise<number> {
  for (const pid of await childPids(upPid)) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (argv.at(-1) === 'edge') return pid;
  }
  throw new Error(`no "slipway edge" child of slipway up (pid ${upPid})`);
}

/** CPU seconds used so far by these processes together (exited ones count as 0). */
export async function cpuSeconds(pids: readonly number[], ticksPerSecond: number): Promise<number> {
  let ticks = 0;
  for (const pid of pids) ticks += (await procStat(pid))?.ticks ?? 0;
  return ticks / ticksPerSecond;
}

/**
 * Busy seconds of one CPU so far (everything but idle and iowait, from /proc/stat), or null
 * when that CPU is not listed.
 */
export async function cpuBusySeconds(cpu: number, ticksPerSecond: number): Promise<number | null> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) return null;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}

/** Clock ticks per second for /proc times (`getconf CLK_TCK`, almost always 100). */
export async function clockTicks(): Promise<number> {
  const value = Number((await runCommand(['getconf', 'CLK_TCK']).catch(() => '100')).trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
}

/** The CPU list a process may run on (`0,1`), as taskset prints it. */
export async function affinityOf(taskset: string, pid: number): Promise<string> {
  const out = await runCommand([taskset, '-p', '-c', String(pid)]);
  const list = out.split(':').at(-1)?.trim();
  if (!list) throw new Error(`cannot read the CPU affinity of pid ${pid}: ${out}`);
  return list;
}

/** Pins every thread of `pid` to `cpus` (a taskset CPU list such as `0`). */
export async function pinProcess(taskset: string, pid: number, cpus: string): Promise<void> {
  await runCommand([taskset, '-a', '-p', '-c', cpus, String(pid)]);
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}
