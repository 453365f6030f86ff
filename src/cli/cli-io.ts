/**
 * Where the CLI reads its environment and writes its output. The real entry passes the
 * process's streams; tests pass functions that capture the text.
 */
export interface CliIo {
  /** Receives results: exactly one JSON document with `--json`. Text includes its newlines. */
  stdout: (s: string) => void;
  /** Receives progress, warnings and errors. */
  stderr: (s: string) => void;
  /** Read for `SLIPWAY_API_URL`, `SLIPWAY_TOKEN`, `SLIPWAY_HOME` and `HOME`. */
  env: NodeJS.ProcessEnv;
  /** The fetch the SDK client uses; the global one when absent. */
  fetch?: typeof fetch;
  /** All of standard input (for values that must not appear on a command line); none when absent. */
  readStdin?: () => Promise<string>;
}

/** Writes one JSON document and a newline. */
export function writeJson(write: (s: string) => void, value: unknown): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}
