/**
 * Copies a container's output from the engine into the instance's `logPath`, the file the agent
 * ships (see {@link StartInstanceSpec.logPath}). The engine keeps the output while no agent
 * runs; a copier started again after a restart resumes after the last line it copied, found
 * through a cursor file (the engine's timestamp of that line), so nothing the engine still holds
 * is lost or doubled. The engine keeps only its json-file buffer (10 MB × 2 files per
 * container, see `container-spec.ts`): output it rotated away while no copier ran is lost, and
 * a crash between appending lines and writing the cursor repeats those lines once.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import type { EngineApi } from './engine-api.js';

/** Options for {@link copyContainerLogs}. */
export interface LogCopyOptions {
  containerId: string;
  /** Appended to, never rewritten (the agent may truncate it once shipped). */
  logPath: string;
  /** Holds the engine timestamp of the last copied line (the driver's file, beside its state). */
  cursorPath: string;
  /** Stops following (the copier resolves; a later one resumes from the cursor). */
  signal?: AbortSignal;
}

// Docker's multiplexed stream (no TTY): each frame is an 8-byte header (stream type, 3 zero
// bytes, big-endian payload length) and the payload.
const HEADER_BYTES = 8;

/** Splits complete frames off `buffer`; returns their payloads and the unconsumed rest. */
export function demuxFrames(buffer: Buffer): { payloads: Buffer[]; rest: Buffer } {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= HEADER_BYTES) {
    const length = buffer.readUInt32BE(offset + 4);
    if (buffer.length - offset - HEADER_BYTES < length) break;
    payloads.push(buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length));
    offset += HEADER_BYTES + length;
  }
  return { payloads, rest: buffer.subarray(offset) };
}

/**
 * An RFC 3339 timestamp with nanoseconds (`2026-12-06T19:01:02.123456789Z`, the engine's
 * `timestamps=1` prefix) as a sortable pair, since a JS number cannot hold nanoseconds.
 */
export function parseTimestamp(stamp: string): { seconds: number; nanos: number } | null {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(stamp);
  if (!match) return null;
  return { seconds: Date.parse(`${match[1] as string}Z`) / 1000, nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

function after(a: { seconds: number; nanos: number }, b: { seconds: number; nanos: number }): boolean {
  return a.seconds > b.seconds || (a.seconds === b.seconds && a.nanos > b.nanos);
}

/**
 * Follows the container's stdout and stderr (interleaved as the engine recorded them) into
 * `logPath` until the container's output ends (it exited) or `signal` aborts. Lines at or before
 * the cursor were copied by an earlier copier and are skipped.
 */
export async function copyContainerLogs(api: EngineApi, options: LogCopyOptions): Promise<void> {
  const cursorText = (await readFile(options.cursorPath, 'utf8').catch(() => '')).trim();
  // Only lines up to where the last copier stopped are skipped; within one run every line counts
  // (two lines may share a timestamp).
  const resumeAfter = parseTimestamp(cursorText);
  let cursorStamp = cursorText;
  const body = await api.stream({
    method: 'GET',
    path: `/containers/${options.containerId}/logs`,
    query: {
      stdout: true,
      stderr: true,
      follow: true,
      timestamps: true,
      // `since` has one-second precision in practice: the cursor then skips what is older.
      since: resumeAfter === null ? undefined : Math.floor(resumeAfter.seconds),
    },
  });
  const abort = (): void => {
    body.destroy();
  };
  // An abort while the request was on its way fired no listener: without this check the copier
  // would follow a running container's output for ever, and whoever awaits it with it.
  if (options.signal?.aborted) {
    abort();
    return;
  }
  options.signal?.addEventListener('abort', abort, { once: true });
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of body) {
      const { payloads, rest } = demuxFrames(Buffer.concat([pending, chunk as Buffer]));
      pending = rest;
      const out: string[] = [];
      for (const payload of payloads) {
        const text = payload.toString('utf8');
        const space = text.indexOf(' ');
        const stamp = text.slice(0, space);
        const time = parseTimestamp(stamp);
        if (time === null) continue;
        if (resumeAfter !== null && !after(time, resumeAfter)) continue;
        out.push(text.slice(space + 1));
        cursorStamp = stamp;
      }
      if (out.length === 0) continue;
      // The lines first, then the cursor: a crash between the two repeats lines, never loses them.
      await appendFile(options.logPath, out.join(''), { mode: 0o640 });
      await writeFile(options.cursorPath, `${cursorStamp}\n`);
    }
  } catch (err) {
    if (!options.signal?.aborted) throw err;
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}
