import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { findExecutable } from './find-executable.js';

/** One name in a source folder, as {@link listSourceDir} gives it. */
export interface SourceDirEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
}

/**
 * A source that is not a folder on disk (the files of a snapshot held in memory): detection
 * reads only names and a few small files, so a publish need not unpack a whole tree to be
 * planned. Paths are POSIX, relative to the source root.
 */
export interface SourceView {
  /** The file's bytes, or undefined when `rel` is not a regular file. */
  file(rel: string): Buffer | undefined;
  /** The entries of folder `rel` ('' is the root); empty when it is no folder. */
  list(rel: string): SourceDirEntry[];
}

/** What every ecosystem detector is given. */
export interface DetectContext {
  srcDir: string;
  /** When set, the source is read from here instead of `srcDir`. */
  view?: SourceView;
  /** The `PATH` tools are looked up in. */
  pathEnv: string;
  /** True when the user gave a build command (the detected one is then not used). */
  hasBuildCommand: boolean;
}

/** True when `rel` is a regular file in the source. */
export async function isSourceFile(ctx: DetectContext, rel: string): Promise<boolean> {
  if (ctx.view) return ctx.view.file(rel) !== undefined;
  return (await stat(join(ctx.srcDir, rel)).catch(() => null))?.isFile() ?? false;
}

/** The first of `names` that is a file in the source, or undefined. */
export async function firstSourceFile(ctx: DetectContext, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) if (await isSourceFile(ctx, name)) return name;
  return undefined;
}

/** A source file's text, or undefined when it is not there. */
export async function readSourceFile(ctx: DetectContext, rel: string): Promise<string | undefined> {
  if (ctx.view) return ctx.view.file(rel)?.toString('utf8');
  if (!(await isSourceFile(ctx, rel))) return undefined;
  return readFile(join(ctx.srcDir, rel), 'utf8');
}

/** The entries of source folder `rel` ('' is the root); empty when it is not a folder. */
export async function listSourceDir(ctx: DetectContext, rel: string): Promise<SourceDirEntry[]> {
  if (ctx.view) return ctx.view.list(rel);
  const entries = await readdir(join(ctx.srcDir, rel), { withFileTypes: true }).catch(() => []);
  return entries.map((e) => ({ name: e.name, isFile: e.isFile(), isDirectory: e.isDirectory() }));
}

/**
 * Insists that `binary` is on the build's `PATH`, or throws `build_toolchain_missing` with
 * `details: { toolchain, binary }` (`toolchain` is what to install: `elixir` for `mix`).
 */
export async function requireTool(ctx: DetectContext, binary: string, toolchain: string = binary): Promise<void> {
  if (await findExecutable(binary, ctx.pathEnv)) return;
  throw new SlipwayError('build_toolchain_missing', `this app needs ${toolchain}, but \`${binary}\` is not installed on the build host`, {
    details: { toolchain, binary },
  });
}

/** Quotes a word for `/bin/sh` when it holds anything but plainly safe characters. */
export function shellWord(word: string): string {
  return /^[\w./@%+:,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
