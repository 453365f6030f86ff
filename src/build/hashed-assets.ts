/**
 * Which files of a static site are content-hashed, so that the edge may let browsers keep them
 * for a year (`immutable`): a changed file gets a new name, never new bytes under an old one.
 * Marking a file that is not hashed would pin a stale copy in browsers for a year, so only the
 * output of a framework known to hash its names is considered ({@link HASHED_OUTPUT}), only in
 * the folders it writes them to, only names shaped the way it hashes them, and never a file the
 * framework copied from the source's verbatim folder (`public/`), whose names it never changes.
 * Plain files, `as_is` and a build command Slipway does not know get no immutable caching.
 */

/**
 * How a framework puts a content hash in a file name.
 * - `rollup`: Rollup 4 (Vite 5+): `[name]-[hash]` with 8 base64url characters
 *   (`index-DiwrgTda.js`, `index-D-wr_gTd.css`), or Vite 4's 8 hex (`index-4d3a2f1b.js`).
 * - `rollup-dotted`: Astro and Nuxt: `[name].[hash]` (`index.DkU8Hj2f.css`), and for Nuxt's
 *   chunks the bare `[hash].js` (`_nuxt/BkMx1XYZ.js`).
 * - `webpack`: hex, between dots (`main.3f2a1b9c.chunk.js`) or after a `-`
 *   (`app-4f3c2d1e0a9b8c7d6e5f.js`).
 * - `esbuild`: Angular's application builder: `[name]-[hash]` with 8 upper-case base32
 *   characters (`main-5NLDDDSD.js`), or its older webpack names.
 */
export const HASH_STYLES = ['rollup', 'rollup-dotted', 'webpack', 'esbuild'] as const;
export type HashStyle = (typeof HASH_STYLES)[number];

/** Where and how one framework writes hashed files into its static output. */
export interface HashedOutput {
  /**
   * Folders the framework's own server serves as immutable whatever the names (a build id in
   * the path instead): Next.js `_next/static/`, SvelteKit `_app/immutable/`.
   */
  immutableFolders?: readonly string[];
  /** Folders (ending in `/`) with hashed names in them; `''` is the site root, files directly in it only. */
  hashedFolders: readonly string[];
  hashStyle: HashStyle;
  /** Only these extensions count in `hashedFolders` (Gatsby and Angular put only scripts and styles at the root). */
  extensions?: RegExp;
  /** The source folder the framework copies into the site unchanged (`public`, `static`). */
  verbatimFolder: string;
}

const SCRIPTS_AND_STYLES = /\.(?:m?js|css)$/i;

/**
 * The frameworks (detection ids, see `frameworks/`) whose static output has hashed names, and
 * where. Left out on purpose: Hugo and Jekyll (fingerprinting is the site's own choice), plain
 * files and `as_is`, and Angular's `assets/` (copied from `src/assets` unhashed).
 */
export const HASHED_OUTPUT: Readonly<Record<string, HashedOutput>> = {
  vite: { hashedFolders: ['assets/'], hashStyle: 'rollup', verbatimFolder: 'public' },
  remix: { hashedFolders: ['assets/'], hashStyle: 'rollup', verbatimFolder: 'public' },
  sveltekit: { immutableFolders: ['_app/immutable/'], hashedFolders: [], hashStyle: 'rollup', verbatimFolder: 'static' },
  astro: { hashedFolders: ['_astro/'], hashStyle: 'rollup-dotted', verbatimFolder: 'public' },
  nuxt: { hashedFolders: ['_nuxt/'], hashStyle: 'rollup-dotted', verbatimFolder: 'public' },
  nextjs: { immutableFolders: ['_next/static/'], hashedFolders: [], hashStyle: 'webpack', verbatimFolder: 'public' },
  'create-react-app': { hashedFolders: ['static/js/', 'static/css/', 'static/media/'], hashStyle: 'webpack', verbatimFolder: 'public' },
  docusaurus: { hashedFolders: ['assets/'], hashStyle: 'webpack', verbatimFolder: 'static' },
  gatsby: { hashedFolders: [''], hashStyle: 'webpack', extensions: SCRIPTS_AND_STYLES, verbatimFolder: 'static' },
  angular: { hashedFolders: ['', 'media/'], hashStyle: 'esbuild', verbatimFolder: 'public' },
};

/** The hashed-output rules of a detected framework, or `undefined` when it has none. */
export function hashedOutputOf(framework: string | undefined): HashedOutput | undefined {
  return framework !== undefined && Object.hasOwn(HASHED_OUTPUT, framework) ? HASHED_OUTPUT[framework] : undefined;
}

/**
 * True when `path` (site-relative POSIX) of a site built by `output`'s framework is a
 * content-hashed asset: anything in its `immutableFolders`, or a file in its `hashedFolders`
 * whose name carries a hash in its style ({@link hasHashedName}). HTML never is: pages are
 * entry points whose names must stay stable. Whether the file came from the verbatim folder
 * the caller checks (see `static-packager.ts`).
 */
export function isImmutableAsset(path: string, output: HashedOutput | undefined): boolean {
  if (output === undefined || /\.html?$/i.test(path)) return false;
  if (output.immutableFolders?.some((folder) => path.startsWith(folder))) return true;
  const slash = path.lastIndexOf('/');
  const folder = path.slice(0, slash + 1);
  const inFolder = output.hashedFolders.some((f) => (f === '' ? folder === '' : folder.startsWith(f)));
  if (!inFolder || (output.extensions !== undefined && !output.extensions.test(path))) return false;
  return hasHashedName(path.slice(slash + 1), output.hashStyle);
}

/**
 * True when a file name carries a content hash where and how `style` writes it. So
 * `MainView.js`, `logo-DarkMode.svg`, `favicon32.png` and `my-component-v2.js` are not hashes.
 */
export function hasHashedName(name: string, style: HashStyle): boolean {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  switch (style) {
    case 'rollup':
      // Every file in a Vite build's assets/ that is not a copy of public/ was emitted by Rollup
      // as `[name]-[hash]` (Vercel's Vite preset caches the whole folder for a year). So the
      // tail need not look random: about one real hash in five is letters only (`DiwrgTda`).
      return dashedTail(stem, (h) => /^[A-Za-z0-9_-]{8}$/.test(h));
    case 'rollup-dotted': {
      const parts = stem.split('.');
      if (parts.length === 1) return /\.m?js$/i.test(name) && (isRollupHash(stem) || isHex(stem, 8));
      return parts.slice(1).some((part) => isRollupHash(part) || isHex(part, 8));
    }
    case 'webpack':
      return stem.split('.').some((part) => isHex(part, 8) || isHex(part.slice(part.lastIndexOf('-') + 1), 8));
    case 'esbuild':
      return dashedTail(stem, isBase32Hash) || hasHashedName(name, 'webpack');
    default: {
      const never: never = style;
      return never;
    }
  }
}

/** Tests the 8 characters after the stem's `-` (the hash may itself hold `-`: `index-D-wr_gTd`). */
function dashedTail(stem: string, isHash: (text: string) => boolean): boolean {
  return stem.at(-9) === '-' && isHash(stem.slice(-8));
}

/** Lower-case hex with digits and letters, so `deadline` or `20241231` are not. */
function isHex(text: string, minLength: number): boolean {
  return text.length >= minLength && text.length <= 128 && /^[0-9a-f]+$/.test(text) && /[0-9]/.test(text) && /[a-f]/.test(text);
}

/**
 * Rollup's 8 base64url characters. Random ones nearly always mix cases and hold a digit, `-`
 * or `_`; a word in camel case (`MainView`, `DarkMode`) has none of those, so it is not one.
 * The few real hashes of letters only lose a year of caching, never freshness.
 */
function isRollupHash(text: string): boolean {
  return /^[A-Za-z0-9_-]{8}$/.test(text) && /[A-Z]/.test(text) && /[a-z]/.test(text) && /[0-9_-]/.test(text);
}

/** esbuild's 8 upper-case base32 characters, with a digit so an upper-case word is not one. */
function isBase32Hash(text: string): boolean {
  return /^[A-Z2-7]{8}$/.test(text) && /[2-7]/.test(text);
}
