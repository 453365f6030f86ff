import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
/** Where the official Go tarball installs; used when it is there. */
const GO_TARBALL_BIN = '/usr/local/go/bin';

/**
 * The `PATH` of every build, and the one its tools are looked up in: the system folders, the
 * folder of the Node.js running Slipway when it lives elsewhere (nvm, a tarball under `/opt`;
 * Node builds need `node` and `npm`) and `/usr/local/go/bin` when Go is installed there. Never
 * the server's own `PATH`, which names Slipway's checkout and its `node_modules/.bin`.
 * Builders prepend their own tool folders (fetched pnpm or yarn) to this.
 */
export const BUILD_PATH = buildPath(process.execPath, existsSync(GO_TARBALL_BIN));

/** {@link BUILD_PATH} for a given Node.js binary, with or without the Go tarball's folder. */
export function buildPath(nodeBinary: string, goTarball: boolean): string {
  const dirs = [...SYSTEM_PATH];
  const nodeDir = dirname(nodeBinary);
  if (!dirs.includes(nodeDir)) dirs.push(nodeDir);
  if (goTarball) dirs.push(GO_TARBALL_BIN);
  return dirs.join(':');
}
