import { SlipwayError } from './errors.js';

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * True when `slug` is a valid DNS label: 1–63 of `[a-z0-9-]`, not starting or ending with `-`.
 * A slug may not contain `--` either: `v<N>--<slug>` is the preview-host syntax and must stay
 * unambiguous.
 */
export function isValidSlug(slug: string): boolean {
  return SLUG_RE.test(slug) && !slug.includes('--');
}

/** Throws `invalid_slug` unless `slug` is valid. */
export function assertSlug(slug: string): string {
  if (!isValidSlug(slug)) {
    throw new SlipwayError(
      'invalid_slug',
      `"${slug}" is not a valid slug: use 1-63 lowercase letters, digits and single hyphens, not starting or ending with a hyphen`,
      { details: { field: 'slug', value: slug } },
    );
  }
  return slug;
}
