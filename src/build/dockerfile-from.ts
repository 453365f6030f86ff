/**
 * The base images a Dockerfile needs from outside itself, read before a build so that a base the
 * engine does not have is named plainly ("base image node:20-slim is not on this host") instead
 * of as a registry DNS error from deep inside BuildKit. No registry is reachable from a
 * Slipway host, so every such base must already be on the engine.
 */

/** One `FROM` line, after line continuations and global `ARG` defaults are applied. */
export interface DockerfileStage {
  /** The image reference as written (variables substituted where their default is known). */
  image: string;
  /** The stage name (`AS name`), lower-cased as Docker compares it; null without one. */
  name: string | null;
}

/** The Dockerfile's logical lines: comments and blank lines dropped, `\` continuations joined. */
export function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim() !== '') lines.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') lines.push(current.trim());
  return lines;
}

/** `value` with `$NAME` and `${NAME}` replaced where `args` knows them; unknown ones stay as written. */
export function substitute(value: string, args: ReadonlyMap<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
    const known = args.get((braced ?? bare) as string);
    return known ?? whole;
  });
}

/** Every `FROM` of `dockerfile`, in order. */
export function dockerfileStages(dockerfile: string): DockerfileStage[] {
  const globalArgs = new Map<string, string>();
  const stages: DockerfileStage[] = [];
  for (const line of logicalLines(dockerfile)) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    // Only ARGs before the first FROM are in scope for FROM lines.
    if (upper === 'ARG' && stages.length === 0) {
      for (const decl of rest) {
        const eq = decl.indexOf('=');
        if (eq > 0) globalArgs.set(decl.slice(0, eq), decl.slice(eq + 1).replace(/^["']|["']$/g, ''));
      }
    }
    if (upper !== 'FROM') continue;
    const words = rest.filter((word) => !word.startsWith('--'));
    const image = substitute(words[0] ?? '', globalArgs);
    const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
    const name = asIndex > 0 ? (words[asIndex + 1] ?? '').toLowerCase() || null : null;
    stages.push({ image, name });
  }
  return stages;
}

/**
 * The images `dockerfile` needs from the engine: every `FROM` that is neither `scratch` nor an
 * earlier stage, without duplicates. A reference still holding a variable (an `ARG` without a
 * default, or one given only at build time) is left out: only the engine can resolve it.
 */
export function dockerfileBaseImages(dockerfile: string): string[] {
  const stageNames = new Set<string>();
  const bases: string[] = [];
  for (const stage of dockerfileStages(dockerfile)) {
    const ref = stage.image;
    if (ref !== '' && ref.toLowerCase() !== 'scratch' && !stageNames.has(ref.toLowerCase()) && !ref.includes('$') && !bases.includes(ref)) {
      bases.push(ref);
    }
    if (stage.name !== null) stageNames.add(stage.name);
  }
  return bases;
}
