import { SlipwayError } from '../core/errors.js';
import { isSha256Hex } from '../util/sha256.js';

/**
 * Refuses anything but a lowercase hex sha256 as a blob address. Every store checks this first:
 * the address becomes part of a file path or object key, so a malformed one must never reach
 * the backend.
 */
export function assertBlobAddress(sha256: string, field = 'sha256'): void {
  if (!isSha256Hex(sha256)) {
    throw new SlipwayError('invalid_request', `${field} must be 64 lowercase hex digits`, { details: { field } });
  }
}

/** The error for a blob that does not exist. */
export function blobNotFound(sha256: string): SlipwayError {
  return new SlipwayError('blob_not_found', `blob ${sha256} does not exist`, { details: { sha256 } });
}

/** The error for bytes that do not match their address. */
export function blobCorrupt(expected: string, actual: string): SlipwayError {
  return new SlipwayError('blob_corrupt', `blob content hashes to ${actual}, expected ${expected}`, {
    details: { expected, actual },
  });
}
