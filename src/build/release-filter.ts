/**
 * Which files of a built site are left out of a static release: what a project keeps beside
 * its pages but must never serve to the world (its manifest and lockfiles, `.env` files, a
 * `.git` folder, dependencies, source maps that give away the original source).
 */

/** Package manifests and lockfiles, by file name at any depth. */
export const LEFT_OUT_NAMES = [
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'bun.lockb',
] as const;

/** The one dot-folder a site needs: RFC 8615 well-known URIs (ACME, `security.txt`). */
const KEPT_DOT_FOLDER = '.well-known';

/**
 * Why `path` (a site-relative POSIX file path) is left out of a static release, or null when
 * it is served: a dotfile or a file in a dot-folder other than `.well-known/` (`.env*`,
 * `.git/`, `.DS_Store`), anything under `node_modules/`, a package manifest or lockfile
 * ({@link LEFT_OUT_NAMES}), or a source map (`*.map`).
 */
export function leftOutReason(path: string): string | null {
  const segments = path.split('/');
  const name = segments[segments.length - 1] ?? '';
  for (const [i, segment] of segments.entries()) {
    const folder = i < segments.length - 1;
    if (segment.startsWith('.') && !(folder && segment === KEPT_DOT_FOLDER)) return folder ? 'dot-folder' : 'dotfile';
    if (folder && segment === 'node_modules') return 'dependencies';
  }
  if ((LEFT_OUT_NAMES as readonly string[]).includes(name)) return 'package manifest or lockfile';
  if (name.endsWith('.map')) return 'source map';
  return null;
}

/**
 * A predicate for the publish's `static_include` globs: files matching one are kept even when
 * {@link leftOutReason} would leave them out. `*` and `?` stay within one path segment, `**`
 * spans any number of them; a pattern without `/` is matched against the file name at any
 * depth (`*.map`, `.nojekyll`), one with `/` against the whole path (`assets/**\/*.map`).
 */
export function createIncludeMatcher(globs: readonly string[]): (path: string) => boolean {
  const matchers = globs.map((glob) => {
    const re = globToRegExp(glob.replace(/^\.?\/+/, ''));
    return glob.includes('/') ? (path: string) => re.test(path) : (path: string) => re.test(path.slice(path.lastIndexOf('/') + 1));
  });
  return (path) => matchers.some((m) => m(path));
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `**` everything below.
      if (glob[i + 2] === '/') {
        re += '(?:[^/]*/)*';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
