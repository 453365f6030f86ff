/**
 * The logging the edge needs, described locally so the edge never imports a logging package.
 * The argument order matches pino (`logger.warn({ err }, 'message')`), so the start-up wiring
 * can pass a pino logger as is.
 */
export interface EdgeLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Writes one JSON line per entry to stderr; the default when no logger is given. */
export function createConsoleLogger(): EdgeLogger {
  const write = (level: string) => (fields: Record<string, unknown>, message: string) => {
    // An Error serializes as {}: keep what an operator needs from it.
    const e = fields.err;
    const err = e instanceof Error ? { err: { message: e.message, code: (e as { code?: unknown }).code } } : {};
    console.error(JSON.stringify({ level, time: Date.now(), name: 'edge', msg: message, ...fields, ...err }));
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}

/** Drops everything; for tests that expect noisy reconnects. */
export const silentLogger: EdgeLogger = { info() {}, warn() {}, error() {} };
