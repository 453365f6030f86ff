/**
 * Turns a request target into the decoded path used to look a file up, or null when the
 * target cannot be served safely (the caller answers 400). Only origin-form targets are
 * taken; the query is dropped; percent-decoding runs only when a `%` is present, so the
 * common request allocates nothing beyond the query slice. Lookups are map hits on the
 * release's own paths, never filesystem access, but NUL and dot segments are still refused so
 * no encoding trick can reach another path form.
 */
export function requestPath(url: string): string | null {
  if (url.charCodeAt(0) !== 0x2f) return null;
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return null;
    }
    if (path.includes('\0')) return null;
  }
  return hasDotSegment(path) ? null : path;
}

function hasDotSegment(path: string): boolean {
  let at = path.indexOf('/.');
  while (at !== -1) {
    const a = path.charCodeAt(at + 2);
    if (Number.isNaN(a) || a === 0x2f) return true;
    if (a === 0x2e) {
      const b = path.charCodeAt(at + 3);
      if (Number.isNaN(b) || b === 0x2f) return true;
    }
    at = path.indexOf('/.', at + 2);
  }
  return false;
}
