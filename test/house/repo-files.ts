/** Reading the repository's own files as text, for the tests that keep the docs honest. */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two folders above this file). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Files under `dir` (relative to the root) whose relative path passes `keep`, sorted. */
export async function listFiles(dir: string, keep: (path: string) => boolean, options: { recursive?: boolean } = {}): Promise<string[]> {
  const entries = await readdir(join(repoRoot, dir), { recursive: options.recursive ?? true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(repoRoot, join(e.parentPath, e.name)))
    .filter((p) => !p.includes('node_modules') && keep(p))
    .sort();
}

/**
 * Removes `//` and `/* *\/` comments so names mentioned in prose do not count as used. Good
 * enough for our sources: it skips over string and template literals, not regular expressions.
 */
export function stripComments(code: string): string {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (c === '/' && code[i + 1] === '/') {
      while (i < code.length && code[i] !== '\n') i++;
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      i = end === -1 ? code.length : end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < code.length && code[j] !== c) j += code[j] === '\\' ? 2 : 1;
      out += code.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Replaces the inside of every string and template literal with spaces, keeping offsets. */
export function blankStrings(code: string): string {
  return code.replace(/(['"`])((?:\\.|(?!\1)[^\\])*)\1/g, (_m, q: string, body: string) => `${q}${' '.repeat(body.length)}${q}`);
}
