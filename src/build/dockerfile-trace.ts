/**
 * Turns BuildKit's progress into build-log lines. Through the Engine API (`POST /build` with
 * `version=2`, no buildx) BuildKit reports progress only as `moby.buildkit.trace` messages: a
 * base64 protobuf `StatusResponse` (moby/buildkit api/services/control/control.proto). Reading
 * the three fields a log needs takes a few lines of protobuf wire format, not a gRPC stack.
 */

/** Protobuf wire types used here. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

interface Field {
  number: number;
  /** For length-delimited fields. */
  bytes?: Buffer;
  /** For varints (only small ones matter here: booleans, stream numbers). */
  value?: number;
}

/** Reads the top-level fields of one protobuf message. Throws on malformed input. */
function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === VARINT) fields.push({ number, value: varint() });
    else if (wire === LENGTH_DELIMITED) {
      const length = varint();
      if (pos + length > buf.length) throw new Error('truncated field');
      fields.push({ number, bytes: buf.subarray(pos, pos + length) });
      pos += length;
    } else if (wire === FIXED64) pos += 8;
    else if (wire === FIXED32) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

const text = (field: Field | undefined): string => field?.bytes?.toString('utf8') ?? '';

/**
 * Keeps the numbering of build steps across trace messages and renders each message as log
 * lines, in the style of `docker build --progress=plain`: `#3 [2/3] RUN npm ci`, then its
 * output, then `#3 DONE` / `#3 CACHED` / `#3 ERROR: …`.
 */
export class BuildkitTraceReader {
  private readonly stepNumbers = new Map<string, number>();
  private readonly finished = new Set<string>();

  private step(digest: string): number {
    let n = this.stepNumbers.get(digest);
    if (n === undefined) {
      n = this.stepNumbers.size + 1;
      this.stepNumbers.set(digest, n);
    }
    return n;
  }

  /** The log lines one trace message (its base64 `aux`) adds; [] for one it cannot read. */
  read(auxBase64: string): string[] {
    let fields: Field[];
    try {
      fields = readFields(Buffer.from(auxBase64, 'base64'));
    } catch {
      return [];
    }
    const lines: string[] = [];
    for (const field of fields) {
      if (!field.bytes) continue;
      if (field.number === 1) lines.push(...this.vertex(readFields(field.bytes)));
      else if (field.number === 3) lines.push(...this.log(readFields(field.bytes)));
    }
    return lines;
  }

  private vertex(fields: Field[]): string[] {
    const get = (n: number): Field | undefined => fields.find((f) => f.number === n);
    const digest = text(get(1));
    if (digest === '' || this.finished.has(digest)) return [];
    const known = this.stepNumbers.has(digest);
    const n = this.step(digest);
    const lines = known ? [] : [`#${n} ${text(get(3))}`];
    const error = text(get(7));
    if (error !== '') lines.push(`#${n} ERROR: ${error}`);
    else if (get(4)?.value === 1) lines.push(`#${n} CACHED`);
    else if (get(6) !== undefined) lines.push(`#${n} DONE`);
    if (error !== '' || get(4)?.value === 1 || get(6) !== undefined) this.finished.add(digest);
    return lines;
  }

  private log(fields: Field[]): string[] {
    const digest = text(fields.find((f) => f.number === 1));
    const msg = text(fields.find((f) => f.number === 4));
    const n = this.step(digest);
    return msg
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => `#${n} ${line}`);
  }
}
