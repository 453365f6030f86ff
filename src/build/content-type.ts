import mime from 'mime-types';

const FALLBACK = 'application/octet-stream';

/**
 * The `Content-Type` to serve a file with, from its extension: mime-types' answer, which adds
 * `; charset=utf-8` to text types (`text/html; charset=utf-8`), or `application/octet-stream`
 * when the extension is unknown or missing.
 */
export function contentTypeFor(path: string): string {
  return mime.contentType(path.slice(path.lastIndexOf('/') + 1)) || FALLBACK;
}

const COMPRESSIBLE_APPLICATION = new Set([
  'javascript',
  'ecmascript',
  'x-javascript',
  'json',
  'xml',
  'wasm',
  'toml',
  'yaml',
  'x-yaml',
  'graphql',
  'x-ndjson',
  'vnd.ms-fontobject',
  'x-font-ttf',
  'x-sh',
]);

const COMPRESSIBLE_OTHER = new Set(['image/svg+xml', 'image/x-icon', 'image/vnd.microsoft.icon', 'image/bmp', 'font/ttf', 'font/otf']);

/**
 * True for types worth precompressing: text, scripts, data formats, wasm, SVG, icons and
 * uncompressed fonts. Images, video, audio, archives and woff/woff2 are compressed already.
 */
export function isCompressible(contentType: string): boolean {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type.startsWith('text/')) return true;
  if (type.endsWith('+json') || type.endsWith('+xml')) return true;
  if (type.startsWith('application/') && COMPRESSIBLE_APPLICATION.has(type.slice('application/'.length))) return true;
  return COMPRESSIBLE_OTHER.has(type);
}
