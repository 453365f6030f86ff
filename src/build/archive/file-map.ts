import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { UploadLimits } from '../../core/limits.js';
import { emptyDir, prepareEmptyDir } from './dest-dir.js';
import { normalizeEntryPath, unsafeEntry } from './entry-path.js';
import type { ExtractResult } from './extract-upload.js';
import type { MemoryUploadEntry } from './spilling-writer.js';
import { TreeChecker } from './tree-checker.js';

/** One file of a JSON file map: text, or `{content, encoding}` for base64 bytes. */
export type FileMapValue = string | { content: string; encoding: 'utf8' | 'base64' };

/** Options for {@link writeFileMap}. */
export interface WriteFileMapOptions {
  /** Path → content, as sent in a publish body. Checked here; the shape is not trusted. */
  files: Record<string, FileMapValue>;
  /** Created when missing; must be empty. Left empty when the map is refused. */
  destDir: string;
  limits: UploadLimits;
}

/**
 * Writes a publish file map to disk under the same rules as an archive upload: every path is
 * checked (`unsafe_archive` for absolute, `..` or empty names and for one name used as both a
 * file and a folder), every value decoded (`invalid_request` for a bad shape or bad base64),
 * and the limits applied (`too_many_files`, `archive_too_large`), all before the first write.
 * Files are written 0644. An empty map is `empty_source`.
 */
export async function writeFileMap(options: WriteFileMapOptions): Promise<ExtractResult> {
  const { destDir } = options;
  const { planned, checker } = planFileMap(options);
  await prepareEmptyDir(destDir);
  try {
    for (const { path, data } of planned) {
      const target = join(destDir, path);
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      await writeFile(target, data, { flag: 'wx', mode: 0o644 });
    }
  } catch (err) {
    await emptyDir(destDir);
    throw err;
  }
  return { fileCount: checker.fileCount, totalBytes: checker.totalBytes };
}

/**
 * Checks and decodes a file map under the rules of {@link writeFileMap} without writing it: the
 * files as upload entries held in memory (mode 0644), for a publish that needs no tree.
 */
export function readFileMap(options: Omit<WriteFileMapOptions, 'destDir'>): MemoryUploadEntry[] {
  return planFileMap(options).planned.map(({ path, data }) => ({ path, kind: 'file', data, mode: 0o644 }));
}

function planFileMap(options: Omit<WriteFileMapOptions, 'destDir'>): { planned: Array<{ path: string; data: Buffer }>; checker: TreeChecker } {
  const { files, limits } = options;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new SlipwayError('invalid_request', 'files must be an object of path to content', { details: { field: 'files' } });
  }
  const checker = new TreeChecker(limits);
  const planned: Array<{ path: string; data: Buffer }> = [];
  for (const [raw, value] of Object.entries(files)) {
    const path = normalizeEntryPath(raw);
    if (path === '') throw unsafeEntry(raw, 'empty name');
    const data = decode(raw, value);
    checker.add({ raw, path, kind: 'file', size: data.length });
    planned.push({ path, data });
  }
  if (planned.length === 0) throw new SlipwayError('empty_source', 'the file map contains no files');
  return { planned, checker };
}

function decode(path: string, value: unknown): Buffer {
  const field = `files.${path}`;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  const bad = (message: string): SlipwayError =>
    new SlipwayError('invalid_request', `${field}: ${message}`, { details: { field } });
  if (typeof value !== 'object' || value === null) throw bad('must be a string or {content, encoding}');
  const { content, encoding } = value as { content?: unknown; encoding?: unknown };
  if (typeof content !== 'string') throw bad('content must be a string');
  if (encoding === 'utf8') return Buffer.from(content, 'utf8');
  if (encoding !== 'base64') throw bad("encoding must be 'utf8' or 'base64'");
  // Buffer.from() skips characters it does not know; a typo must not become silent corruption.
  const body = content.replace(/\s+/g, '');
  const unpadded = body.replace(/={1,2}$/, '');
  const padded = unpadded !== body;
  if (!/^[A-Za-z0-9+/]*$/.test(unpadded) || unpadded.length % 4 === 1 || (padded && body.length % 4 !== 0)) {
    throw bad('content is not valid base64');
  }
  return Buffer.from(body, 'base64');
}
