import { lstat, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The header pip itself writes when an interpreter path cannot go on a `#!` line: valid as sh
 * and as Python. sh runs the `python` beside the script, wherever the tree now is; Python
 * reads the two quoted lines as a string and goes on with the script.
 */
const RELOCATABLE_HEADER = `#!/bin/sh\n'''exec' "$(dirname -- "$(realpath -- "$0")")"/python "$0" "$@"\n' '''\n`;

/**
 * A virtualenv's console scripts (`gunicorn`, `uvicorn`, …) start with `#!<build tree>/.venv/
 * bin/python`, a path that is gone once the release runs elsewhere (under `/app` in the
 * sandbox). Rewrites that line of each such script in `<appDir>/.venv/bin` to a header that
 * finds the venv's python beside the script. Returns the names rewritten.
 */
export async function relocateVenvScripts(appDir: string): Promise<string[]> {
  const bin = join(appDir, '.venv', 'bin');
  const names = await readdir(bin).catch(() => [] as string[]);
  const prefix = `#!${bin}/`;
  const rewritten: string[] = [];
  for (const name of names) {
    const path = join(bin, name);
    const info = await lstat(path);
    if (!info.isFile()) continue;
    if (!(await startsWith(path, prefix))) continue;
    const text = await readFile(path, 'utf8');
    // Writing over the file keeps its owner and mode (the exec bits).
    await writeFile(path, RELOCATABLE_HEADER + text.slice(text.indexOf('\n') + 1));
    rewritten.push(name);
  }
  return rewritten;
}

async function startsWith(path: string, prefix: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Buffer.byteLength(prefix));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.toString('utf8') === prefix;
  } finally {
    await fh.close();
  }
}
