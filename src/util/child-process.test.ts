import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError, type SlipwayError } from '../core/errors.js';
import { runCommand } from './child-process.js';
import { isProcessAlive } from './process-group.js';
import { makeTempDir, removeDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

let dir: string;
before(async () => {
  dir = await makeTempDir('child-process-test-');
});
after(async () => {
  await removeDir(dir);
});

test('returns stdout and stderr of a successful command', async () => {
  const r = await runCommand(['/bin/sh', '-c', 'echo out; echo err >&2']);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('arguments are passed verbatim, never through a shell', async () => {
  const hostile = '$(touch pwned); `touch pwned2`; rm -rf / #';
  const r = await runCommand(['printf', '%s', hostile], { cwd: dir });
  assert.equal(r.stdout, hostile);
  await assert.rejects(readFile(join(dir, 'pwned')), { code: 'ENOENT' });
});

test('feeds input on stdin', async () => {
  const r = await runCommand(['cat'], { input: 'hello' });
  assert.equal(r.stdout, 'hello');
});

test('a non-zero exit throws with argv, exit code and output tails', async () => {
  const err = await runCommand(['/bin/sh', '-c', 'echo some output; echo why >&2; exit 3'], {
    failureCode: 'build_failed',
  }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, 'build_failed'));
  assert.deepEqual((err as SlipwayError).details, {
    argv: ['/bin/sh', '-c', 'echo some output; echo why >&2; exit 3'],
    exitCode: 3,
    signal: null,
    timedOut: false,
    stdoutTail: 'some output\n',
    stderrTail: 'why\n',
  });
});

test('the tails keep the end of long output', async () => {
  const err = (await runCommand(['/bin/sh', '-c', 'seq 1 10000; exit 1'], { tailBytes: 16 }).catch(
    (e: unknown) => e,
  )) as SlipwayError;
  assert.equal(err.details.stdoutTail, '9998\n9999\n10000\n'.slice(-16));
});

test('a missing program throws instead of crashing', async () => {
  const err = await runCommand(['/nonexistent/program']).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, 'internal_error'));
  assert.equal((err as SlipwayError).details.exitCode, null);
});

test('a timeout kills the whole process group, grandchildren included', async () => {
  const pidFile = join(dir, 'grandchild.pid');
  const started = Date.now();
  const err = (await runCommand(['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], {
    timeoutMs: 300,
  }).catch((e: unknown) => e)) as SlipwayError;
  assert.ok(isSlipwayError(err, 'internal_error'));
  assert.equal(err.details.timedOut, true);
  assert.ok(Date.now() - started < 5000);
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await waitFor(() => !isProcessAlive(pid), { description: `grandchild ${pid} to be gone` });
});

test('a group member that ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const pidFile = join(dir, 'stubborn.pid');
  const script = `sh -c 'trap "" TERM; echo $$ > ${pidFile}; while :; do sleep 1; done' & wait`;
  const err = (await runCommand(['/bin/sh', '-c', script], { timeoutMs: 300, killGraceMs: 200 }).catch(
    (e: unknown) => e,
  )) as SlipwayError;
  assert.equal(err.details.timedOut, true);
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await waitFor(() => !isProcessAlive(pid), { description: `stubborn ${pid} to be gone` });
});

test('background processes left behind by a finished command are stopped', async () => {
  const pidFile = join(dir, 'straggler.pid');
  await runCommand(['/bin/sh', '-c', `sleep 60 >/dev/null 2>&1 & echo $! > ${pidFile}`]);
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await waitFor(() => !isProcessAlive(pid), { description: `straggler ${pid} to be gone` });
});

test('output beyond the limit fails the command', async () => {
  const err = await runCommand(['/bin/sh', '-c', 'yes'], { maxOutputBytes: 10_000 }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err));
  assert.match((err as SlipwayError).message, /more than 10000 bytes/);
});
