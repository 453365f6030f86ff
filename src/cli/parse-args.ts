import { InvalidArgumentError } from 'commander';

/**
 * Parses a version number option (`3` or `v3`). Commander reports the thrown
 * InvalidArgumentError as a usage error, so a typo exits with 2 before any request is made.
 */
export function parseVersionNumber(value: string): number {
  const digits = value.replace(/^v/, '');
  const n = Number(digits);
  if (!/^\d+$/.test(digits) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a version number such as 3');
  }
  return n;
}

/** Parses a whole number ≥ 0 (`--replicas 2`); a typo is a usage error. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number such as 2');
  return n;
}
