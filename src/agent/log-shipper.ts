import { open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';

/** Sends lines to the server; `unknown_instance` means nobody will take them any more. */
export type ShipLines = (lines: Array<{ time: string; line: string }>) => Promise<'ok' | 'unknown_instance' | 'failed'>;

/** Options for {@link LogShipper}. */
export interface LogShipperOptions {
  /** The file the instance's stdout and stderr are appended to. */
  logPath: string;
  ship: ShipLines;
  /** How often the file is read (default 300 ms). */
  intervalMs?: number;
  /** Once everything up to here is shipped, the file is emptied (default 8 MiB). */
  maxFileBytes?: number;
}

const CHUNK = 256 * 1024;

/**
 * Follows one instance's output file and ships it to the server in batches of whole lines.
 * The shipped offset is saved beside the file (`.offset`), so a restarted agent neither
 * re-sends nor skips lines; the file is emptied whenever everything in it has been shipped
 * and it has grown past a bound, which keeps the disk use of a chatty app bounded. While the
 * server is away lines wait in the file and go out when it is back.
 */
export class LogShipper {
  private offset = -1;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: LogShipperOptions) {}

  start(): void {
    // kick() never rejects (a failed pass is retried on the next tick), so the timer may drop it.
    this.timer = setInterval(() => void this.kick(), this.o.intervalMs ?? 300);
  }

  /** Ships what is left (including a last unterminated line) and stops. */
  async finish(): Promise<void> {
    clearInterval(this.timer);
    await this.kick();
    if (this.partial) await this.o.ship([{ time: new Date().toISOString(), line: this.partial }]);
    this.partial = '';
    this.stopped = true;
    await rm(`${this.o.logPath}.offset`, { force: true });
  }

  /** Stops without shipping more (agent shutdown: the next agent continues from the offset). */
  detach(): void {
    clearInterval(this.timer);
    this.stopped = true;
  }

  private kick(): Promise<void> {
    this.busy = this.busy.then(() => this.pass()).catch(() => undefined);
    return this.busy;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    if (this.offset < 0) this.offset = Number(await readFile(`${this.o.logPath}.offset`, 'utf8').catch(() => '0')) || 0;
    const size = (await stat(this.o.logPath).catch(() => null))?.size;
    if (size === undefined) return;
    if (size < this.offset) this.offset = 0; // emptied by someone else: start over
    while (this.offset < size) {
      const fh = await open(this.o.logPath, 'r');
      let text: string;
      let read: number;
      try {
        const buf = Buffer.alloc(Math.min(CHUNK, size - this.offset));
        ({ bytesRead: read } = await fh.read(buf, 0, buf.length, this.offset));
        text = buf.subarray(0, read).toString('utf8');
      } finally {
        await fh.close();
      }
      if (read === 0) break;
      const parts = (this.partial + text).split('\n');
      const rest = parts.pop()!;
      const time = new Date().toISOString();
      const lines = parts.map((line) => ({ time, line: line.replace(/\r$/, '') }));
      const outcome = lines.length ? await this.o.ship(lines) : 'ok';
      if (outcome === 'failed') return; // try again next pass, from the same offset
      this.partial = rest.length > 16 * 1024 ? '' : rest;
      if (rest.length > 16 * 1024) await this.o.ship([{ time, line: rest }]);
      this.offset += read;
      await writeFile(`${this.o.logPath}.offset`, String(this.offset));
      if (outcome === 'unknown_instance') {
        this.detach();
        return;
      }
    }
    if (this.offset >= (this.o.maxFileBytes ?? 8 * 1024 * 1024) && this.offset === size && !this.partial) {
      await truncate(this.o.logPath, 0);
      this.offset = 0;
      await writeFile(`${this.o.logPath}.offset`, '0');
    }
  }
}
