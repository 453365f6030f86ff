/**
 * Most version ids one usage report of an edge may carry. The server rejects a longer report
 * and the edge sends longer ones in chunks of this size, so both read it from here.
 */
export const MAX_USAGE_REPORT = 1000;
