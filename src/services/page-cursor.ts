import { SlipwayError } from '../core/errors.js';
import { isId, type IdPrefix } from '../core/ids.js';

/**
 * Cursors are opaque to clients: only a `next_cursor` the API gave out is valid. Anything else
 * is refused rather than read as "no cursor", which would silently restart the listing from the
 * first page and make a client loop forever.
 */
function badCursor(): SlipwayError {
  return new SlipwayError('invalid_request', 'cursor must be a next_cursor value from an earlier page', {
    details: { field: 'cursor' },
  });
}

/** The id a list keyed by `prefix` ids continues after; `invalid_request` for anything else. */
export function idCursor(cursor: string | undefined, prefix: IdPrefix): string | undefined {
  if (cursor === undefined) return undefined;
  if (!isId(cursor, prefix)) throw badCursor();
  return cursor;
}

/** The number a list keyed by positive integers continues below; `invalid_request` otherwise. */
export function numberCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(cursor)) throw badCursor();
  return Number(cursor);
}
