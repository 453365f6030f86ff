/**
 * The sites the bench publishes, generated deterministically (same bytes every run, so runs
 * compare): a ~1 MiB, 200-file static site of html, css, js, json, svg and png-like binary
 * whose text compresses about like real code, and the two files wrk fetches.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Path inside the site → bytes. */
export type SiteFiles = Map<string, Buffer>;

/** Mulberry32: a tiny seeded PRNG, so the fixture is the same on every run. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'deploy release version static edge route cache build snapshot artifact server client request response header ' +
  'content stream buffer table index page style layout button card modal header footer nav menu item list grid ' +
  'color margin padding border radius shadow font weight size width height flex align justify value state event ' +
  'handler render update fetch promise result error status token user account project setting option config'
).split(' ');

type Random = () => number;
const pick = <T>(r: Random, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const words = (r: Random, n: number) => Array.from({ length: n }, () => pick(r, WORDS)).join(' ');
const ident = (r: Random) => `${pick(r, WORDS)}${pick(r, WORDS).replace(/^./, (c) => c.toUpperCase())}`;
const hex = (r: Random) => Math.floor(r() * 0xffffff).toString(16).padStart(6, '0');

/** `head`, then `part()` repeated until the text is at least `size` bytes, then `tail`. */
function grow(size: number, part: () => string, frame: { head?: string; tail?: string } = {}): string {
  let out = frame.head ?? '';
  for (let i = 0; out.length < size && i < 100_000; i++) out += part();
  return out + (frame.tail ?? '');
}

const html = (r: Random, size: number, title: string) =>
  grow(size, () => `<section class="${ident(r)}"><h2>${words(r, 4)}</h2><p>${words(r, 24)}</p>` +
    `<a href="/docs/page-${String(Math.floor(r() * 30)).padStart(2, '0')}.html">${words(r, 2)}</a></section>\n`, {
    head: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title>\n` +
      '<link rel="stylesheet" href="/assets/css/style-00.css"></head>\n<body>\n',
    tail: '<script src="/assets/js/app-00.js"></script>\n</body></html>\n',
  });

const css = (r: Random, size: number) =>
  grow(size, () => `.${ident(r)} .${pick(r, WORDS)}{margin:${Math.floor(r() * 32)}px;color:#${hex(r)};` +
    `display:${pick(r, ['flex', 'grid', 'block'])};padding:${Math.floor(r() * 16)}px ${Math.floor(r() * 16)}px}\n`);

const js = (r: Random, size: number) =>
  grow(size, () => `export function ${ident(r)}(${pick(r, WORDS)}, options = {}) {\n` +
    `  const ${pick(r, WORDS)} = options.${ident(r)} ?? ${Math.floor(r() * 1000)};\n` +
    `  if (!${pick(r, WORDS)}) throw new Error('${words(r, 5)}');\n  return { ${pick(r, WORDS)}: "${words(r, 3)}" };\n}\n`,
  { head: '"use strict";\n' });

const json = (r: Random, size: number) =>
  grow(size, () => JSON.stringify({ id: hex(r), name: words(r, 2), tags: [pick(r, WORDS), pick(r, WORDS)], score: r() }) + ',\n',
    { head: '[', tail: '{}]\n' });

const svg = (r: Random, size: number) =>
  grow(size, () => `<path fill="#${hex(r)}" d="M${(r() * 24).toFixed(2)} ${(r() * 24).toFixed(2)}L${(r() * 24).toFixed(2)} ${(r() * 24).toFixed(2)}Z"/>\n`,
    { head: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">\n', tail: '</svg>\n' });

/** A PNG signature and header followed by noise: incompressible, as real images are. */
function pngLike(r: Random, size: number): Buffer {
  const out = Buffer.alloc(size);
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(out);
  for (let i = 16; i < size; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** Kind of file → how many, typical size, generator. Sums to 200 files, ~1 MiB. */
const PLAN: Array<{ count: number; size: number; path: (i: number) => string; make: (r: Random, size: number, i: number) => string | Buffer }> = [
  { count: 40, size: 4000, path: (i) => (i === 0 ? 'index.html' : i === 1 ? '404.html' : `docs/page-${String(i).padStart(2, '0')}.html`), make: (r, s, i) => html(r, s, `page ${i}`) },
  { count: 25, size: 5000, path: (i) => `assets/css/style-${String(i).padStart(2, '0')}.css`, make: css },
  { count: 50, size: 7000, path: (i) => `assets/js/app-${String(i).padStart(2, '0')}.js`, make: js },
  { count: 30, size: 3000, path: (i) => `data/items-${String(i).padStart(2, '0')}.json`, make: json },
  { count: 35, size: 2000, path: (i) => `img/icons/icon-${String(i).padStart(2, '0')}.svg`, make: svg },
  { count: 20, size: 12000, path: (i) => `img/photo-${String(i).padStart(2, '0')}.png`, make: pngLike },
];

/** The 200-file site; `index.html` is the file {@link withMarker} rewrites. */
export function createSiteFiles(seed = 1): SiteFiles {
  const r = createRandom(seed);
  const files: SiteFiles = new Map();
  for (const kind of PLAN) {
    for (let i = 0; i < kind.count; i++) {
      const size = Math.round(kind.size * (0.5 + r()));
      const content = kind.make(r, size, i);
      files.set(kind.path(i), Buffer.isBuffer(content) ? content : Buffer.from(content));
    }
  }
  return files;
}

/** The site with `marker` in its index.html (as a meta tag), so each publish differs. */
export function withMarker(files: SiteFiles, marker: string): SiteFiles {
  const index = files.get('index.html')?.toString('utf8') ?? '<!doctype html>\n<head></head>\n';
  const next = new Map(files);
  next.set('index.html', Buffer.from(index.replace('<head>', `<head><meta name="slipway-bench" content="${marker}">`)));
  return next;
}

/** The files wrk fetches: exactly 1 KiB and 100 KiB of script text, plus an index. */
export function createStaticFiles(): SiteFiles {
  const r = createRandom(2);
  const exact = (size: number) => Buffer.from(js(r, size).slice(0, size));
  return new Map([
    ['index.html', Buffer.from('<!doctype html><title>bench</title>\n')],
    ['bench-1k.js', exact(1024)],
    ['bench-100k.js', exact(100 * 1024)],
  ]);
}

/** Total bytes of a site. */
export function siteBytes(files: SiteFiles): number {
  let total = 0;
  for (const data of files.values()) total += data.length;
  return total;
}

/** Writes (or overwrites) the files under `dir`. */
export async function writeSite(dir: string, files: SiteFiles): Promise<void> {
  for (const [path, data] of files) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
  }
}
