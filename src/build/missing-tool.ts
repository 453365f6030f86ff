/**
 * Recognises "command not found" in a failed build's output and says what usually causes it,
 * since a bare `sh: 1: vite: not found` does not point at the missing devDependencies.
 */

/** dash `sh: 1: vite: not found`, bash `bash: line 1: vite: command not found`. */
const NOT_FOUND_LINE = /(?:^|[\s:'"])([A-Za-z0-9@._+/-]+?)'?: (?:command )?not found\s*$/m;

/** Names the build has under another name. */
const RENAMED: Record<string, string> = {
  python: 'only `python3` exists on this host: call `python3` instead',
  pip: 'only `python3 -m pip` exists on this host: call it instead',
};

/**
 * A one-line hint for a build whose output (`logTail`) shows a command that was not found, or
 * null. For anything but Python it suggests the usual cause: a tool from devDependencies that
 * the install left out, or that the build command never installed.
 */
export function missingToolHint(logTail: string): string | null {
  const lines = logTail.split('\n').reverse();
  for (const line of lines) {
    const match = NOT_FOUND_LINE.exec(line);
    if (!match) continue;
    const tool = (match[1] as string).split('/').pop() as string;
    if (tool === '' || /^\d+$/.test(tool)) continue;
    const renamed = RENAMED[tool];
    if (renamed !== undefined) return `\`${tool}\` was not found: ${renamed}`;
    return `\`${tool}\` was not found: if it comes from npm, is it in devDependencies (or dependencies) and installed by your build command (\`npm ci && …\`)?`;
  }
  return null;
}
