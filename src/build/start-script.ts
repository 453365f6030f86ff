/**
 * Running a package's `start` script without npm. `npm start` leaves npm itself resident beside
 * the app (~60 MB of RSS, and a few hundred ms of its own boot before the app's on every
 * (re)start), plus a shell under it. When the script is a plain command, the run command does
 * what npm would do, directly: in the package folder, with `node_modules/.bin` first on `PATH`
 * and the package's name and version in `npm_package_name` / `npm_package_version`, the shell
 * replaced by the command (`exec`), so the instance's process tree is the app alone.
 *
 * The script is only ever copied into the run command whole, never spliced from pieces: it is
 * taken when it is a sequence of plain words (quotes allowed) and nothing a shell would read as
 * an operator, expansion or redirection, so `sh` parses it exactly as it parses it under npm.
 * Anything else keeps `npm start`.
 */
import { readSourceFile, shellWord, type DetectContext } from './detect-support.js';

/** How a start script runs: its run command, and why it was chosen, for the build log. */
export interface StartChoice {
  command: string;
  why: string;
  /** True when npm is not involved (the script runs directly). */
  direct: boolean;
}

// Operators, expansions, globs, comments, escapes, subshells and line breaks: a script with any
// of them needs a shell's full reading (and npm's `sh -c`), so it keeps `npm start`.
const SHELL_SYNTAX = /[&|;<>$`\\()*?[\]{}~#!\n\r]/;
// A package manager inside the script (`npm run serve`, `yarn node x`) needs that manager.
const PACKAGE_MANAGER = /(^|[\s'"])(npm|npx|yarn|pnpm|pnpx|corepack|bun|bunx)(?=$|[\s'"])/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
// npm's own lifecycle hooks and settings that a direct run would skip.
const HOOKS = ['prestart', 'poststart'] as const;

/**
 * How `npm start` of the package at the source root is run: directly when its start script is
 * a plain command ({@link plainScriptWords}), else `npm start`; `script` is package.json's
 * `scripts.start`. The reason names what kept npm.
 */
export async function startScriptRun(ctx: DetectContext, script: string): Promise<StartChoice> {
  const viaNpm = (why: string): StartChoice => ({ command: 'npm start', why: `the start script: ${script}; run by npm: ${why}`, direct: false });
  const pkg = parsePackage(await readSourceFile(ctx, 'package.json'));
  if (pkg === null) return viaNpm('package.json could not be read');
  const hook = HOOKS.find((name) => typeof pkg.scripts?.[name] === 'string');
  if (hook !== undefined) return viaNpm(`it has a ${hook} script`);
  if (pkg.config !== undefined) return viaNpm('package.json has a config field (npm passes it as npm_package_config_*)');
  const npmrc = await readSourceFile(ctx, '.npmrc');
  if (npmrc !== undefined && /^\s*(node-options|script-shell)\s*=/m.test(npmrc)) return viaNpm('.npmrc sets node-options or script-shell');
  const words = plainScriptWords(script);
  if (typeof words === 'string') return viaNpm(words);
  const env = [
    'PATH="$PWD/node_modules/.bin:$PATH"',
    ...(typeof pkg.name === 'string' ? [`npm_package_name=${shellWord(pkg.name)}`] : []),
    ...(typeof pkg.version === 'string' ? [`npm_package_version=${shellWord(pkg.version)}`] : []),
  ];
  return {
    command: [...env, ...words.assignments, 'exec', ...words.command].join(' '),
    why: `the start script \`${script}\`, run directly with node_modules/.bin on PATH as npm would, so no npm stays resident`,
    direct: true,
  };
}

/** A plain script split into its leading `NAME=value` words and the command with its arguments (each word as written). */
export interface PlainScript {
  assignments: string[];
  command: string[];
}

/**
 * The words of `script` when it is one plain command: words and quoted strings only, no shell
 * syntax, no package manager, at most leading `NAME=value` assignments (also after a leading
 * `cross-env`, which would otherwise stay resident as the app's parent). Otherwise the reason
 * it is not.
 */
export function plainScriptWords(script: string): PlainScript | string {
  if (SHELL_SYNTAX.test(script)) return 'it uses shell syntax (operators, expansions, redirections or globs)';
  if (PACKAGE_MANAGER.test(script)) return 'it calls a package manager';
  const words = splitWords(script);
  if (words === null) return 'it has an unbalanced quote';
  let rest = words;
  if (rest[0] === 'cross-env') rest = rest.slice(1);
  const firstCommand = rest.findIndex((w) => !ASSIGNMENT.test(w));
  if (firstCommand === -1) return 'it runs no command';
  const command = rest.slice(firstCommand);
  // A cross-env flag (`--shell`) or a command word made of quotes: leave it to npm.
  if (command[0]!.startsWith('-') || /['"]/.test(command[0]!)) return 'its command word is not a plain program name';
  return { assignments: rest.slice(0, firstCommand), command };
}

/** Splits at blanks outside quotes, keeping each word as written (quotes included); null when a quote is left open. */
function splitWords(script: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let quote: string | null = null;
  for (const ch of script) {
    if (quote !== null) {
      word += ch;
      if (ch === quote) quote = null;
    } else if (ch === ' ' || ch === '\t') {
      if (word !== '') words.push(word);
      word = '';
    } else {
      if (ch === '"' || ch === "'") quote = ch;
      word += ch;
    }
  }
  if (quote !== null) return null;
  if (word !== '') words.push(word);
  return words;
}

interface PackageFields {
  name?: unknown;
  version?: unknown;
  config?: unknown;
  scripts?: Record<string, unknown>;
}

function parsePackage(text: string | undefined): PackageFields | null {
  if (text === undefined) return null;
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as PackageFields) : null;
  } catch {
    return null;
  }
}
