// Test support: writes tar bytes by hand, so tests can build archives no well-behaved tool
// would produce. Independent of deterministic-tar.ts on purpose, so each checks the other.

/** One hand-made entry. */
export interface RawEntry {
  /** Stored as is in the 100-byte name field (a Buffer allows any bytes). */
  name: string | Buffer;
  /** The typeflag character: '0' file, '1' hardlink, '2' symlink, '3'/'4' devices, '5' dir, '6' FIFO, 'x' PAX, 'L' GNU long name. */
  type?: string;
  body?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Overrides the size field (to lie about the body). */
  size?: number;
  prefix?: string;
  /** Spoils the header checksum. */
  badChecksum?: boolean;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** Encodes one 512-byte ustar header. */
export function rawHeader(entry: RawEntry): Buffer {
  const block = Buffer.alloc(512);
  const body = Buffer.from(entry.body ?? '');
  const name = Buffer.isBuffer(entry.name) ? entry.name : Buffer.from(entry.name);
  name.copy(block, 0, 0, 100);
  block.write(octal(entry.mode ?? 0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(entry.size ?? body.length, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write(entry.type ?? '0', 156, 'ascii');
  block.write(entry.linkname ?? '', 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'ascii');
  block.write(entry.prefix ?? '', 345, 155, 'utf8');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(entry.badChecksum ? sum + 1 : sum, 7) + ' ', 148, 'ascii');
  return block;
}

function padded(body: Buffer): Buffer {
  const rest = body.length % 512;
  return rest === 0 ? body : Buffer.concat([body, Buffer.alloc(512 - rest)]);
}

/** A PAX extended header entry carrying `records` for the entry after it. */
export function paxEntry(records: Record<string, string>): RawEntry {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const line = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(line) + 1;
    while (String(length).length + Buffer.byteLength(line) !== length) length++;
    body += `${length}${line}`;
  }
  return { name: 'PaxHeader/x', type: 'x', body };
}

/** Concatenates entries and, unless `end` is false, the two end-of-archive blocks. */
export function rawTar(entries: RawEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(rawHeader(entry));
    parts.push(padded(Buffer.from(entry.body ?? '')));
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
