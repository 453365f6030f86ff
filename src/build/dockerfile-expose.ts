/**
 * The port a Dockerfile's image says it listens on, read from its `EXPOSE` lines before any
 * build, so `slipway detect` and the build agree on the port the edge and health checks use.
 */
import { logicalLines, substitute } from './dockerfile-from.js';

/** The port found, and where. */
export interface ExposedPort {
  port: number;
  /** The `EXPOSE` line it came from, as written. */
  line: string;
  /** The stage that holds the line when the final stage inherits it (`FROM build`); null: the final stage's own. */
  inheritedFrom: string | null;
}

interface Stage {
  /** What it is built FROM, lower-cased (to match an earlier stage's name). */
  from: string;
  name: string | null;
  expose: Array<{ line: string; words: string[] }>;
}

/** Splits the Dockerfile into stages, each EXPOSE with its variables substituted. */
function stages(dockerfile: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const out: Stage[] = [];
  let vars = new Map<string, string>();
  for (const line of logicalLines(dockerfile)) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    const stage = out.at(-1);
    if (upper === 'FROM') {
      const words = rest.filter((word) => !word.startsWith('--'));
      const asIndex = words.findIndex((word) => word.toUpperCase() === 'AS');
      out.push({ from: substitute(words[0] ?? '', globalArgs).toLowerCase(), name: asIndex > 0 ? (words[asIndex + 1] ?? '').toLowerCase() || null : null, expose: [] });
      vars = new Map();
    } else if (upper === 'ARG') {
      for (const decl of rest) {
        const eq = decl.indexOf('=');
        const name = eq > 0 ? decl.slice(0, eq) : decl;
        // Before the first FROM an ARG is global; inside a stage, `ARG NAME` brings its global default in.
        const value = eq > 0 ? unquote(decl.slice(eq + 1)) : stage === undefined ? undefined : globalArgs.get(name);
        if (value !== undefined) (stage === undefined ? globalArgs : vars).set(name, value);
      }
    } else if (upper === 'ENV' && stage !== undefined) {
      // `ENV A=1 B=2`, or the old `ENV NAME value with spaces`.
      if (rest[0]?.includes('=')) {
        for (const decl of rest) {
          const eq = decl.indexOf('=');
          if (eq > 0) vars.set(decl.slice(0, eq), unquote(decl.slice(eq + 1)));
        }
      } else if (rest[0] !== undefined) {
        vars.set(rest[0], unquote(rest.slice(1).join(' ')));
      }
    } else if (upper === 'EXPOSE' && stage !== undefined) {
      stage.expose.push({ line, words: rest.map((word) => substitute(unquote(word), vars)) });
    }
  }
  return out;
}

function unquote(value: string): string {
  return value.replace(/^["']|["']$/g, '');
}

/** The first TCP port of an EXPOSE's words (`8080`, `8080/tcp`, `3000-3005`), or undefined. */
function firstTcpPort(words: readonly string[]): number | undefined {
  for (const word of words) {
    const match = /^(\d{1,5})(?:-\d{1,5})?(?:\/(tcp|udp|sctp))?$/i.exec(word);
    if (!match || (match[2] !== undefined && match[2].toLowerCase() !== 'tcp')) continue;
    const port = Number(match[1]);
    if (port >= 1 && port <= 65535) return port;
  }
  return undefined;
}

/**
 * The first TCP port the final stage's `EXPOSE` lines name, following `FROM <earlier stage>`
 * back when the final stage exposes none (it inherits that stage's ports), or null. UDP ports,
 * ports held in variables without a known value, and ports a base image exposes (only the
 * engine knows those) do not count.
 */
export function dockerfileExposedPort(dockerfile: string): ExposedPort | null {
  const all = stages(dockerfile);
  // Each step moves to an earlier stage, so this ends.
  let index = all.length - 1;
  while (index >= 0) {
    const stage = all[index] as Stage;
    for (const expose of stage.expose) {
      const port = firstTcpPort(expose.words);
      if (port !== undefined) return { port, line: expose.line, inheritedFrom: index === all.length - 1 ? null : (stage.name ?? String(index)) };
    }
    // Only a stage defined before this one can be its parent.
    index = all.slice(0, index).findLastIndex((s) => s.name !== null && s.name === stage.from);
  }
  return null;
}
