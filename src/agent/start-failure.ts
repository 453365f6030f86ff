/**
 * How the instance supervisor treats a start that threw (the release could not be had, the
 * driver would not start it): which code it reports and whether a retry could mend it.
 */
import { SlipwayError, type ErrorCode } from '../core/errors.js';

/**
 * Error codes of start failures that no retry mends on this host: `invalid_archive`, a release
 * blob that does not hold the image its version names (downloading it again gives the same
 * bytes). A {@link SlipwayError} whose `details.retryable` is `false` is such a failure too
 * (`unavailable` because this agent has no Docker engine, unlike an engine that did not answer).
 */
const PERMANENT_START_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['invalid_archive']);

/** What a start that threw reports: the error's code (`internal_error` for a foreign one), its words, and whether to give up. */
export function startFailure(err: unknown): { code: ErrorCode; reason: string; permanent: boolean } {
  const known = err instanceof SlipwayError ? err : null;
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: known?.code ?? 'internal_error',
    reason: `the instance could not start: ${message}`,
    permanent: known !== null && (PERMANENT_START_CODES.has(known.code) || known.details.retryable === false),
  };
}
