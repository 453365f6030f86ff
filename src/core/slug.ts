import { SlipwayError } from './errors.js';

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Slugs a new deployment may not take. An app at `api.<domain>` or `www.<domain>` would be
 * mistaken for the platform's own API or site, `internal` and `admin` for its control plane,
 * and `localhost` makes `localhost.localhost` under the default domain. The names Slipway may
 * serve itself one day (dashboard, status page, edge, docs) are kept free now, so giving them
 * a meaning later never takes a customer's URL away.
 */
export const RESERVED_SLUGS = [
  'api', 'admin', 'internal', 'www', 'localhost', 'slipway', 'dashboard', 'console', 'status', 'edge', 'docs',
] as const;

const RESERVED = new Set<string>(RESERVED_SLUGS);

/**
 * True when `slug` is a valid DNS label: 1–63 of `[a-z0-9-]`, not starting or ending with `-`.
 * A slug may not contain `--` either: `v<N>--<slug>` is the preview-host syntax and must stay
 * unambiguous.
 */
export function isValidSlug(slug: string): boolean {
  return SLUG_RE.test(slug) && !slug.includes('--');
}

/** True for the names in {@link RESERVED_SLUGS}. */
export function isReservedSlug(slug: string): boolean {
  return RESERVED.has(slug);
}

/** Throws `invalid_slug` unless `slug` is valid and not reserved: the check a new slug passes. */
export function assertSlug(slug: string): string {
  if (!isValidSlug(slug)) {
    throw new SlipwayError(
      'invalid_slug',
      `"${slug}" is not a valid slug: use 1-63 lowercase letters, digits and single hyphens, not starting or ending with a hyphen`,
      { details: { field: 'slug', value: slug } },
    );
  }
  if (isReservedSlug(slug)) {
    throw new SlipwayError('invalid_slug', `"${slug}" is reserved for the platform: choose another slug`, {
      details: { field: 'slug', value: slug, reason: 'reserved' },
    });
  }
  return slug;
}

/**
 * The first label of a deployment's managed host: `<slug>` for the default tenant, else
 * `<slug>--<tenant slug>` (neither may contain `--`, so the split is unambiguous). The caller
 * keeps the whole label within DNS's 63 characters when it accepts a slug.
 */
export function managedLabel(slug: string, tenantSlug: string | null): string {
  return tenantSlug === null ? slug : `${slug}--${tenantSlug}`;
}
