import { EDGE_PAGE_NAMES, MAX_BRANDING_PAGES_BYTES, type EdgePageName, type TenantBranding } from '../core/states.js';

/**
 * A tenant's branding as the edge renders it: every value checked again here, whatever the API
 * accepted (a route may come from an older server, a journal on disk, or a bug), and a value
 * that fails the check is dropped, never rendered.
 */
export interface BrandingLook {
  /** Plain text (escaped when rendered); null: the pages name nobody. */
  readonly displayName: string | null;
  /** An absolute http(s) URL; null: no logo. */
  readonly logoUrl: string | null;
  /** An absolute http(s) URL; null: no support link. */
  readonly supportUrl: string | null;
  /** CSS colours that passed {@link safeColor}, defaults otherwise. */
  readonly primary: string;
  readonly background: string;
  readonly text: string;
}

const NEUTRAL = { primary: '#333333', background: '#ffffff', text: '#333333' } as const;
/** Longer names are cut: a page headline, not a document. */
const MAX_NAME = 200;
/** A URL longer than this is dropped rather than rendered. */
const MAX_URL = 2048;
/** The tenant's own page HTML beyond this is ignored (the rendered page is served instead). */
export const MAX_OWN_PAGE_BYTES = MAX_BRANDING_PAGES_BYTES;

/**
 * Hex colours (#rgb, #rgba, #rrggbb, #rrggbbaa), named colours (letters only) and rgb()/hsl()
 * with numbers: nothing that could close the `<style>` rule or the element it sits in.
 */
const COLOR_RE = /^(?:#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})|[a-z]{3,20}|(?:rgba?|hsla?)\([0-9.,%\s/]{1,60}\))$/i;

/** `value` when it is a colour the page may embed in its CSS, else null. */
export function safeColor(value: unknown): string | null {
  return typeof value === 'string' && COLOR_RE.test(value) ? value : null;
}

/** `value` normalized when it is an absolute http or https URL, else null (`javascript:`, `data:`, relative…). */
export function safeUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > MAX_URL) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
}

/** `value` trimmed and cut to a headline's length, without control characters; null when empty. */
function safeName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const name = value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return name === '' ? null : Array.from(name).slice(0, MAX_NAME).join('');
}

/** What the pages of a tenant with `branding` (null: none) look like. */
export function brandingLook(branding: TenantBranding | null): BrandingLook {
  const b = branding ?? {};
  return {
    displayName: safeName(b.display_name),
    logoUrl: safeUrl(b.logo_url),
    supportUrl: safeUrl(b.support_url),
    primary: safeColor(b.primary_color) ?? NEUTRAL.primary,
    background: safeColor(b.background_color) ?? NEUTRAL.background,
    text: safeColor(b.text_color) ?? NEUTRAL.text,
  };
}

/**
 * The tenant's own HTML for page `name`, served as given (the tenant wrote it for its own
 * hosts; it is not escaped); null when it gave none, or something that is not a page.
 */
export function ownPage(branding: TenantBranding | null, name: EdgePageName): string | null {
  const pages: unknown = branding?.pages;
  if (typeof pages !== 'object' || pages === null || !EDGE_PAGE_NAMES.includes(name)) return null;
  const html = (pages as Record<string, unknown>)[name];
  return typeof html === 'string' && html.length > 0 && Buffer.byteLength(html) <= MAX_OWN_PAGE_BYTES ? html : null;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}
