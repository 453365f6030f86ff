import type { RouteTenant } from '../core/routes.js';
import type { EdgePageName, TenantBranding } from '../core/states.js';
import { BAD_GATEWAY, GATEWAY_TIMEOUT, NOT_FOUND, NO_UPSTREAM, UNAVAILABLE, canned, type CannedResponse } from './canned-responses.js';
import { brandingLook, escapeHtml, ownPage, type BrandingLook } from './branding-values.js';

/**
 * The answers the edge gives by itself on one tenant's hosts (issue 11, white-label): the
 * tenant's own HTML for a page when it gave one, else a page in its colours with its name, logo
 * and support link, else (no branding, or the default tenant) the neutral pages. No page names
 * the platform: they are shown on hosts that belong to someone else's brand.
 */
export interface EdgePages {
  /** `not_found`, 404: no such app, nothing active, or a path the release lacks. */
  readonly notFound: CannedResponse;
  /** `unavailable`, 503 `Retry-After: 1`: a dynamic release with no reachable instance. */
  readonly noUpstream: CannedResponse;
  /** `unavailable`, 503 `Retry-After: 5`: a preview release that could not be loaded now. */
  readonly unavailable: CannedResponse;
  /** `unavailable`, 502: the instance refused or reset before answering. */
  readonly badGateway: CannedResponse;
  /** `unavailable`, 504: the instance sent no response headers in time. */
  readonly gatewayTimeout: CannedResponse;
  /**
   * `suspended`, 503 without `Retry-After`: the tenant is suspended. Not 403 or 451: a
   * suspension is the operator's to lift and the app then serves as before, so crawlers and
   * caches must not take it for the app's own answer; and no `Retry-After`, since nobody knows when.
   */
  readonly suspended: CannedResponse;
  /** `maintenance`, 503 `Retry-After: 60`: reserved; nothing answers it yet. */
  readonly maintenance: CannedResponse;
  /** `certificate_pending`, 503 `Retry-After: 10`: reserved for an HTTPS host whose certificate is not issued yet. */
  readonly certificatePending: CannedResponse;
  /** The `starting` page (HTML) of a version booting; it reloads itself after `retry` seconds. */
  starting(retry: number): string;
  /** The page (HTML) of a version that could not be started: the `unavailable` page. */
  startFailed(): string;
}

const HTML = 'text/html; charset=utf-8';

/** What each page says on a rendered (not the tenant's own) page. */
const TEXT: Record<EdgePageName, { title: string; note: string }> = {
  not_found: { title: 'Page not found', note: 'There is nothing at this address.' },
  starting: { title: 'Starting up…', note: 'This page reloads by itself in a moment.' },
  unavailable: { title: 'Temporarily unavailable', note: 'Please try again in a moment.' },
  suspended: { title: 'This site is unavailable', note: 'It is not being served at the moment.' },
  maintenance: { title: 'Down for maintenance', note: 'Please check back soon.' },
  certificate_pending: { title: 'Setting up a secure connection', note: 'This site will be available in a minute.' },
};

/** A boot that failed is not retried by the page: reloading would only ask for the same failure. */
const START_FAILED = { title: 'This version could not be started.', note: 'Please try again later.' };

/** Renders one page in the tenant's look; `refresh` adds a self-reload after that many seconds. */
export function renderPage(
  look: BrandingLook,
  name: EdgePageName,
  options: { status?: number; refresh?: number; text?: { title: string; note: string } } = {},
): string {
  const { title, note } = options.text ?? TEXT[name];
  const brand = look.displayName === null ? '' : escapeHtml(look.displayName);
  const head = brand === '' ? escapeHtml(title) : `${escapeHtml(title)} · ${brand}`;
  const refresh = options.refresh === undefined ? '' : `<meta http-equiv="refresh" content="${options.refresh}">`;
  const logo = look.logoUrl === null ? '' : `<img src="${escapeHtml(look.logoUrl)}" alt="${brand}" height="48">`;
  const brandLine = brand === '' ? '' : `<p class="brand">${brand}</p>`;
  const support = look.supportUrl === null ? '' : `<p><a href="${escapeHtml(look.supportUrl)}">Contact support</a></p>`;
  const code = options.status === undefined ? '' : `<p class="code">Error ${options.status}</p>`;
  // A data: icon: the browser asks the page for no favicon, so none can name anything.
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    `${refresh}<title>${head}</title><link rel="icon" href="data:,"><style>` +
    `body{font-family:system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:90vh;background:${look.background};color:${look.text}}` +
    `main{max-width:32rem;padding:2rem;text-align:center}h1{color:${look.primary}}a{color:${look.primary}}.brand{font-weight:600}.code{opacity:.6}` +
    `</style></head><body><main>${logo}${brandLine}<h1>${escapeHtml(title)}</h1><p>${escapeHtml(note)}</p>${code}${support}</main></body></html>\n`;
}

function page(status: number, html: string, headers: string[] = []): CannedResponse {
  return canned(status, html, { contentType: HTML, headers });
}

/** One tenant's pages; `branding` null: the neutral ones. */
function createPages(branding: TenantBranding | null): EdgePages {
  const look = brandingLook(branding);
  const own = (name: EdgePageName) => ownPage(branding, name);
  const rendered = (name: EdgePageName, status: number) => own(name) ?? renderPage(look, name, { status });
  const down = (status: number, headers: string[] = []) => page(status, rendered('unavailable', status), headers);
  return {
    notFound: page(404, rendered('not_found', 404)),
    noUpstream: down(503, ['Retry-After', '1']),
    unavailable: down(503, ['Retry-After', '5']),
    badGateway: down(502),
    gatewayTimeout: down(504),
    suspended: page(503, own('suspended') ?? renderPage(look, 'suspended')),
    maintenance: page(503, own('maintenance') ?? renderPage(look, 'maintenance'), ['Retry-After', '60']),
    certificatePending: page(503, own('certificate_pending') ?? renderPage(look, 'certificate_pending'), ['Retry-After', '10']),
    // The tenant's own starting page cannot know the wait: the edge's answer carries a
    // `Refresh` header for it instead (starting-page.ts).
    starting: (retry) => own('starting') ?? renderPage(look, 'starting', { refresh: retry }),
    startFailed: () => own('unavailable') ?? renderPage(look, 'unavailable', { status: 502, text: START_FAILED }),
  };
}

/**
 * The neutral pages, for the default tenant's hosts and any tenant without branding: the 404,
 * 502, 503 and 504 stay the edge's long-standing bytes, which name nothing.
 */
export const NEUTRAL_PAGES: EdgePages = {
  ...createPages(null),
  notFound: NOT_FOUND, noUpstream: NO_UPSTREAM, unavailable: UNAVAILABLE, badGateway: BAD_GATEWAY, gatewayTimeout: GATEWAY_TIMEOUT,
};

/**
 * Rendered once per tenant object: the edge's route objects are never changed (a change is a
 * new object), so a branding change reaches the pages with the route that carries it.
 */
const byTenant = new WeakMap<RouteTenant, EdgePages>();

/** The pages for a route's tenant (absent: the default tenant's, neutral). */
export function pagesFor(tenant: RouteTenant | undefined): EdgePages {
  // `== null` and the object check: a route from an older journal or a buggy server must not throw here.
  if (tenant == null || typeof tenant.branding !== 'object' || tenant.branding === null) return NEUTRAL_PAGES;
  let pages = byTenant.get(tenant);
  if (pages === undefined) byTenant.set(tenant, (pages = createPages(tenant.branding)));
  return pages;
}
