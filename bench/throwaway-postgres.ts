/**
 * A PostgreSQL server of the bench's own, as .ci/run starts one: Debian's postgresql package,
 * `initdb` as the `postgres` user into a temp dir, `pg_ctl` on a free loopback port with its
 * socket in /tmp. Stopped and removed through the cleanup, even on Ctrl-C.
 */
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/platform.js';
import type { Cleanup } from './cleanup.js';
import { runCommand } from './procs.js';

/** A started server, or why none could be. */
export type ThrowawayPostgres = { url: string } | { skipped: string };

/** Starts PostgreSQL when the bench runs as root on a host with Debian's postgresql installed. */
export async function startThrowawayPostgres(cleanup: Cleanup): Promise<ThrowawayPostgres> {
  if (process.getuid?.() !== 0) return { skipped: 'not root (initdb must run as the postgres user)' };
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const newest = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) return { skipped: 'PostgreSQL is not installed (apt-get install postgresql)' };
  const uid = Number((await runCommand(['id', '-u', 'postgres']).catch(() => '')).trim());
  if (!Number.isInteger(uid) || uid <= 0) return { skipped: 'there is no postgres user' };
  const bin = join('/usr/lib/postgresql', newest, 'bin');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-pg-'));
  cleanup.add('remove the bench PostgreSQL data', () => rm(dir, { recursive: true, force: true }));
  await chown(dir, uid, uid);
  const port = await freePort();
  const asPostgres = (argv: string[]) => ['runuser', '-u', 'postgres', '--', ...argv];
  await runCommand(asPostgres([join(bin, 'initdb'), '-D', dir, '-A', 'trust', '-U', 'postgres']), 60_000);
  // pg_ctl's -o is handed to the server as its options; a fixed string, nothing from input.
  await runCommand(asPostgres([join(bin, 'pg_ctl'), '-D', dir, '-l', join(dir, 'server.log'), '-w', '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200`, 'start']), 60_000);
  cleanup.add('stop the bench PostgreSQL', () => runCommand(asPostgres([join(bin, 'pg_ctl'), '-D', dir, '-m', 'immediate', 'stop']), 30_000));
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres` };
}
