import { Command, CommanderError } from 'commander';
import { toSlipwayError } from '../core/errors.js';
import { createClient, isSlipwayApiError, type SlipwayClient } from '../sdk/index.js';
import { writeJson, type CliIo } from './cli-io.js';
import { resolveCredentials } from './credentials.js';

/** What every command needs: the io and a client created on first use. */
export interface CommandContext {
  io: CliIo;
  /** The API client; credentials are looked up only when a command needs them, so `--help` works without a server. */
  client(): Promise<SlipwayClient>;
}

/** Creates the context the commands share. */
export function createCommandContext(io: CliIo): CommandContext {
  let client: Promise<SlipwayClient> | undefined;
  return {
    io,
    client() {
      client ??= resolveCredentials(io.env).then(({ apiUrl, token }) =>
        createClient({ baseUrl: apiUrl, token, fetch: io.fetch, userAgent: 'slipway-cli' }));
      return client;
    },
  };
}

/** Thrown by a command that has already told the user what went wrong; only sets the exit code. */
export class ReportedFailure extends Error {
  constructor(readonly exitCode = 1) {
    super('command failed');
    this.name = 'ReportedFailure';
  }
}

/** Exit code of a command that ran and failed. */
export const EXIT_ERROR = 1;
/** Exit code of a command line commander could not accept (unknown option, missing argument…). */
export const EXIT_USAGE = 2;

/** The wire form of any error: the API's `{code, message, details, request_id}`. */
export function errorObject(err: unknown): { code: string; message: string; details: Record<string, unknown>; request_id: string | null } {
  if (isSlipwayApiError(err)) return err.toJSON();
  const e = toSlipwayError(err);
  return { code: e.code, message: e.message, details: e.details, request_id: null };
}

/** Prints an error: `error: <message> (<code>)`, or the error object as JSON with `--json`. */
export function reportError(io: CliIo, err: unknown, json: boolean): void {
  const wire = errorObject(err);
  if (json) {
    writeJson(io.stderr, wire);
    return;
  }
  io.stderr(`error: ${wire.message} (${wire.code})\n`);
  if (wire.code === 'internal_error' && wire.request_id) io.stderr(`request id: ${wire.request_id}\n`);
}

/**
 * Wraps a command's action so any failure is printed once in the right format and turned into
 * a CommanderError carrying the exit code, which `runCli` (and commander's `exitOverride`)
 * understand.
 */
export function handleErrors<A extends unknown[]>(io: CliIo, action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      if (err instanceof ReportedFailure) throw new CommanderError(err.exitCode, 'slipway.failed', err.message);
      const command = args.at(-1);
      const json = command instanceof Command && command.opts().json === true;
      reportError(io, err, json);
      throw new CommanderError(EXIT_ERROR, 'slipway.failed', errorObject(err).message);
    }
  };
}
