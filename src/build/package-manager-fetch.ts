import { SlipwayError } from '../core/errors.js';
import { findExecutable } from './find-executable.js';
import { readSourceFile, type DetectContext } from './detect-support.js';

/**
 * When the lockfile asks for pnpm or yarn and the host has none, the build fetches it from the
 * npm registry into its own tool folder (npm comes with Node, so it is always there). The
 * version is the one `packageManager` in package.json names, else the major that writes the
 * lockfile's format. Yarn 2+ ("berry") is not fetched: its projects pin their own release in
 * `.yarnrc.yml`, and Plug'n'Play installs would need a different run command.
 *
 * Returns the npm package spec to install, or null when the host has the manager already.
 */
export async function packageManagerToFetch(ctx: DetectContext, manager: 'pnpm' | 'yarn', packageManager: string | undefined): Promise<string | null> {
  if (await findExecutable(manager, ctx.pathEnv)) return null;
  const pinned = pinnedVersion(manager, packageManager);
  if (manager === 'pnpm') return `pnpm@${pinned ?? pnpmMajorFor(await readSourceFile(ctx, 'pnpm-lock.yaml'))}`;
  const lock = (await readSourceFile(ctx, 'yarn.lock')) ?? '';
  const berry = lock.includes('__metadata:') || (pinned !== undefined && !pinned.startsWith('1.'));
  if (berry) {
    throw new SlipwayError('build_toolchain_missing', 'this app needs yarn 2 or newer (its yarn.lock says so), but `yarn` is not installed on the build host; Slipway fetches only pnpm and yarn 1 by itself', {
      details: { toolchain: 'yarn', binary: 'yarn' },
    });
  }
  return `yarn@${pinned ?? '1'}`;
}

/** `pnpm@9.12.3+sha512.…` → `9.12.3` when it names this manager. */
function pinnedVersion(manager: string, packageManager: string | undefined): string | undefined {
  const m = packageManager === undefined ? null : /^([a-z]+)@(\d+\.\d+\.\d+[\w.-]*)/.exec(packageManager);
  return m && m[1] === manager ? m[2] : undefined;
}

/** The pnpm major that reads a lockfile: 9.0 → pnpm 9 (also 10's format), 6.x → 8, 5.x → 7. */
function pnpmMajorFor(lock: string | undefined): string {
  const version = /^lockfileVersion:\s*'?(\d+)(?:\.\d+)?'?/m.exec(lock ?? '')?.[1];
  if (version === '6') return '8';
  if (version === '5') return '7';
  return '9';
}
