/**
 * `ADD` of a local archive, which BuildKit unpacks into the image. On an engine with
 * user-namespace remapping, dockerd 20.10's BuildKit unpacks it with the owners its entries
 * name, taken as host ids; a file owned by host uid 0 cannot be mapped into the remapped ids
 * and is left out of the layer (dockerd only logs "Host ID 0 cannot be mapped to a container
 * ID"). The image would silently lack those files, so such a build is refused before it runs
 * (see context-owner.ts for the same fault with the build context, which Slipway can fix).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join, normalize, posix } from 'node:path';
import { logicalLines } from './dockerfile-from.js';

/** The local sources of every `ADD` (URLs and sources holding a variable left out), as written. */
export function addSources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const line of logicalLines(dockerfile)) {
    const match = /^ADD\s+(.*)$/is.exec(line);
    if (!match) continue;
    let args: string[];
    const rest = (match[1] ?? '').trim();
    if (rest.startsWith('[')) {
      try {
        args = (JSON.parse(rest) as unknown[]).map(String);
      } catch {
        continue;
      }
    } else {
      args = rest.split(/\s+/).filter((word) => !word.startsWith('--'));
    }
    // The last argument is the destination.
    for (const source of args.slice(0, -1)) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@') || source.includes('$')) continue;
      sources.push(source);
    }
  }
  return sources;
}

/** A glob of one path segment (`*`, `?`, `[...]`) as a regular expression. */
function segmentPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Files of `contextDir` that `source` names: itself, or the matches of a glob in its last segment. */
async function filesNamed(contextDir: string, source: string): Promise<string[]> {
  const relative = normalize(posix.join('/', source)).slice(1);
  if (relative === '' || relative.startsWith('..')) return [];
  const last = posix.basename(relative);
  if (!/[*?[]/.test(last)) return [join(contextDir, relative)];
  const dir = join(contextDir, dirname(relative));
  const pattern = segmentPattern(last);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => pattern.test(name)).map((name) => join(dir, name));
}

/** True when the file's first bytes are those of an archive BuildKit unpacks (tar, gzip, bzip2, xz). */
async function isArchive(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return false;
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(262);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) return true;
    if (bytes.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (bytes.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return bytes.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await file.close();
  }
}

/** The sources of `ADD`s in `dockerfile` that are archives in `contextDir` (which BuildKit would unpack). */
export async function localArchiveAdds(dockerfile: string, contextDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const source of addSources(dockerfile)) {
    for (const path of await filesNamed(contextDir, source)) {
      if (await isArchive(path)) found.push(source);
    }
  }
  return [...new Set(found)];
}
