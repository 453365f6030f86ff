/**
 * Which files of a static site are content-hashed, so that the edge may let browsers keep them
 * for a year (`immutable`): a changed file gets a new name, never new bytes under an old one.
 * Marking a file that is not hashed would pin a stale copy in browsers for a year, so outside
 * the two folders frameworks declare immutable both signs must be there: a folder where a known
 * framework writes hashed output, and a hash in the file name itself.
 */

/** Root folders of hashed build output: Vite (and Docusaurus), Next.js, Astro, SvelteKit, Create React App, Nuxt. */
export const HASHED_ASSET_FOLDERS = [
  'assets/',
  '_next/static/',
  '_astro/',
  '_app/immutable/',
  'static/js/',
  'static/css/',
  'static/media/',
  '_nuxt/',
] as const;

/**
 * Folders whose every file the framework's own server already serves as immutable, names
 * hashed or not (a build id in the path instead): Next.js `_next/static/`, SvelteKit
 * `_app/immutable/`. Nothing of `public/` is copied there.
 */
const IMMUTABLE_FOLDERS = ['_next/static/', '_app/immutable/'] as const;

/**
 * Rollup's (so Vite's, Nuxt's, SvelteKit's, Astro's) hashes are 8 characters of base64url,
 * which may themselves hold `-` and `_` (`index-D-wr_gTd.js`), so after a `-` the last 8
 * characters are also tried as the hash.
 */
const BASE64URL_HASH_LENGTH = 8;
/** Shorter runs are too often words (`v2`, `main`); longer than a sha512 in hex is not a hash. */
const MIN_HASH_LENGTH = 8;
const MAX_HASH_LENGTH = 128;

/**
 * True when `path` (site-relative POSIX) is a content-hashed asset: anything under
 * `_next/static/` or `_app/immutable/`, or under another of {@link HASHED_ASSET_FOLDERS} (where
 * a site's own `public/assets/` may land too) with a hash in its name ({@link hasHashedName}).
 * HTML never is: pages are entry points whose names must stay stable.
 */
export function isImmutableAsset(path: string): boolean {
  if (/\.html?$/i.test(path)) return false;
  if (IMMUTABLE_FOLDERS.some((folder) => path.startsWith(folder))) return true;
  if (!HASHED_ASSET_FOLDERS.some((folder) => path.startsWith(folder))) return false;
  return hasHashedName(path.slice(path.lastIndexOf('/') + 1));
}

/**
 * True when a file name carries a content hash the way build tools write them: the whole
 * stem (Nuxt `BkMx1XYZ.js`, Next.js `8f2a1c3b4d5e6f70.css`), between dots (CRA
 * `main.3f2a1b9c.chunk.js`, SvelteKit and Astro `start.BIqAQ2H5.js`), after a `-` (Next.js
 * `webpack-8fa1640cc84ba8fe.js`) or Vite's 8 characters after a `-` (`index-DiwrgTda.js`).
 * A hash is lower-case hex of {@link MIN_HASH_LENGTH}+ characters with digits and letters, or
 * Rollup's 8 base64url characters in mixed case; so `logo.png`, `favicon32.png` and
 * `my-component-v2.js` are not hashes.
 */
export function hasHashedName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return stem.split('.').some((part) => {
    const candidates = [part, part.slice(part.lastIndexOf('-') + 1)];
    if (part.length > BASE64URL_HASH_LENGTH && part.at(-BASE64URL_HASH_LENGTH - 1) === '-') candidates.push(part.slice(-BASE64URL_HASH_LENGTH));
    return candidates.some(looksLikeHash);
  });
}

function looksLikeHash(text: string): boolean {
  if (text.length < MIN_HASH_LENGTH || text.length > MAX_HASH_LENGTH) return false;
  // Hex (webpack, Next.js, CRA): both digits and letters, so `deadline` or `20241231` are not.
  if (/^[0-9a-f]+$/.test(text)) return /[0-9]/.test(text) && /[a-f]/.test(text);
  if (text.length !== BASE64URL_HASH_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return false;
  // Rollup's base64url: random case. Hand-made names (`favicon2`, `icon-v12`) are lower case.
  const upper = text.match(/[A-Z]/g)?.length ?? 0;
  const lower = text.match(/[a-z]/g)?.length ?? 0;
  return upper > 0 && lower > 0 && (upper >= 2 || /[0-9_-]/.test(text));
}
