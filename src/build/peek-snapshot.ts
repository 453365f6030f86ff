import { readTar } from './archive/tar-reader.js';

/** The markers at a snapshot's root that decide what kind of app it is. */
export const APP_MARKERS = ['Dockerfile', 'package.json', 'requirements.txt', 'pyproject.toml', 'go.mod', 'mix.exs', 'server.js'] as const;
export type AppMarker = (typeof APP_MARKERS)[number];

/** What {@link peekSnapshot} found. */
export interface SnapshotPeek {
  markers: Set<AppMarker>;
  /** The parsed root `package.json`, when there is one and it is valid JSON. */
  packageJson: { scripts?: Record<string, unknown>; main?: unknown } | null;
}

const MAX_PACKAGE_JSON = 1024 * 1024;

/**
 * Reads a snapshot's headers (and only the root `package.json`'s bytes) to tell a static site
 * from a dynamic app before anything is unpacked.
 */
export async function peekSnapshot(snapshotPath: string): Promise<SnapshotPeek> {
  const markers = new Set<AppMarker>();
  let packageJson: SnapshotPeek['packageJson'] = null;
  await readTar({
    archivePath: snapshotPath, gzip: false,
    onEntry: async (entry) => {
      const path = entry.path.replace(/^\.\//, '');
      if (entry.type === 'File' && (APP_MARKERS as readonly string[]).includes(path)) markers.add(path as AppMarker);
      if (path === 'package.json' && entry.type === 'File' && entry.size <= MAX_PACKAGE_JSON) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        try {
          const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (parsed && typeof parsed === 'object') packageJson = parsed as SnapshotPeek['packageJson'];
        } catch {
          // Not JSON: the build will say so if it matters.
        }
        return;
      }
      entry.resume();
      await new Promise<void>((resolve) => entry.once('end', () => resolve()));
    },
  });
  return { markers, packageJson };
}

/**
 * Whether a source with these markers is a server app when the publish left `kind` to `auto`
 * and gave no run command: a Python, Go, Elixir or Docker project always is; a Node project
 * is when it says how to start (a `start` script, a `main` file, or npm's default `server.js`),
 * otherwise it is a site built by its `build` script.
 */
export function looksDynamic(peek: SnapshotPeek): boolean {
  const m = peek.markers;
  if (m.has('Dockerfile') || m.has('requirements.txt') || m.has('pyproject.toml') || m.has('go.mod') || m.has('mix.exs')) return true;
  if (!m.has('package.json') || !peek.packageJson) return false;
  const scripts = peek.packageJson.scripts ?? {};
  return typeof scripts.start === 'string' || typeof peek.packageJson.main === 'string' || m.has('server.js');
}
