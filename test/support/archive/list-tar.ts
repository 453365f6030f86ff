// Test support: every entry of a tar file as node-tar reads it, headers and body.
import * as tar from 'tar';

/** One entry as read back. */
export interface ListedEntry {
  path: string;
  mode: number;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
  type: string;
  body: Buffer;
}

/** Reads `file` with node-tar in strict mode (a malformed tar rejects). */
export async function listTar(file: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  await tar.t({
    file,
    strict: true,
    onReadEntry: (e) => {
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () =>
        entries.push({
          path: e.path, mode: e.mode ?? -1, size: e.size, mtime: e.mtime?.getTime() ?? -1,
          uid: e.uid ?? -1, gid: e.gid ?? -1, type: e.type, body: Buffer.concat(chunks),
        }),
      );
    },
  });
  return entries;
}
