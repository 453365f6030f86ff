import { StringDecoder } from 'node:string_decoder';
import { TailBuffer } from '../util/tail-buffer.js';
import { stripTerminalControls } from './terminal-controls.js';

/** A line longer than this is passed on in pieces rather than buffered whole. */
const MAX_LINE_BYTES = 64 * 1024;
const TAIL_BYTES = 4096;

/**
 * Turns a build's stdout and stderr into whole lines for the log, each stream split on its own
 * so lines never interleave mid-way, capped at `maxBytes` with one note when the cap is hit.
 * The tail (for the error of a failed build) keeps the last bytes even past the cap, since the
 * end of a log is where the reason usually is. Terminal control sequences (colours, cursor
 * moves) are removed from both (see `stripTerminalControls`).
 */
export class BuildLog {
  readonly #maxBytes: number;
  readonly #emit: (chunk: string) => void;
  readonly #tail = new TailBuffer(TAIL_BYTES);
  readonly #partial = new Map<string, { decoder: StringDecoder; text: string }>();
  #written = 0;
  #capped = false;

  constructor(maxBytes: number, emit: (chunk: string) => void) {
    this.#maxBytes = maxBytes;
    this.#emit = emit;
  }

  /** Feeds raw bytes from one named stream (`stdout` or `stderr`). */
  push(stream: string, data: Buffer): void {
    this.#tail.push(data);
    let state = this.#partial.get(stream);
    if (!state) {
      state = { decoder: new StringDecoder('utf8'), text: '' };
      this.#partial.set(stream, state);
    }
    state.text += state.decoder.write(data);
    const end = state.text.lastIndexOf('\n');
    if (end >= 0) {
      this.#write(state.text.slice(0, end + 1));
      state.text = state.text.slice(end + 1);
    }
    if (state.text.length > MAX_LINE_BYTES) {
      this.#write(state.text);
      state.text = '';
    }
  }

  /** Passes on what is left of unfinished lines, once the process has exited. */
  flush(): void {
    for (const state of this.#partial.values()) {
      const rest = state.text + state.decoder.end();
      state.text = '';
      if (rest !== '') this.#write(rest.endsWith('\n') ? rest : `${rest}\n`);
    }
  }

  /** The last few KiB of output, for error details. */
  tail(): string {
    return stripTerminalControls(this.#tail.toString());
  }

  #write(raw: string): void {
    if (this.#capped) return;
    const text = stripTerminalControls(raw);
    if (text === '') return;
    const bytes = Buffer.byteLength(text);
    if (this.#written + bytes <= this.#maxBytes) {
      this.#written += bytes;
      this.#emit(text);
      return;
    }
    this.#capped = true;
    this.#emit(`\n[slipway] log truncated: the build printed more than ${this.#maxBytes} bytes\n`);
  }
}
