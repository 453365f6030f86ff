import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError, type SlipwayError } from '../core/errors.js';
import { isProcessAlive } from '../util/process-group.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { runBuildCommand, runBuildStep, type RunBuildOptions } from './build-runner.js';

let cwd: string;
before(async () => {
  cwd = await makeTempDir('build-runner-test-');
});
after(async () => {
  await removeDir(cwd);
});

async function run(command: string, extra: Partial<RunBuildOptions> = {}): Promise<{ log: string; error?: SlipwayError }> {
  const chunks: string[] = [];
  try {
    await runBuildCommand({ command, cwd, timeoutMs: 10_000, maxLogBytes: 1_000_000, onLog: (c) => chunks.push(c), ...extra });
    return { log: chunks.join('') };
  } catch (err) {
    assert.ok(isSlipwayError(err), String(err));
    return { log: chunks.join(''), error: err };
  }
}

test('a successful command streams its output, writes in cwd and reports how long it ran', async () => {
  const chunks: string[] = [];
  const before = Date.now();
  const result = await runBuildCommand({
    // The sleep gives the duration a known floor; the wall clock around the call is its ceiling.
    command: 'echo building; mkdir -p dist && echo hi > dist/index.html; sleep 0.2; echo done >&2',
    cwd,
    timeoutMs: 10_000,
    maxLogBytes: 10_000,
    onLog: (c) => chunks.push(c),
  });
  const wallMs = Date.now() - before;
  assert.equal(result.exitCode, 0);
  assert.ok(result.durationMs >= 200, `durationMs ${result.durationMs} covers the 200 ms sleep`);
  assert.ok(result.durationMs <= wallMs, `durationMs ${result.durationMs} is within the ${wallMs} ms the call took`);
  assert.deepEqual(chunks.join('').split('\n').filter(Boolean).sort(), ['building', 'done']);
  assert.equal(await readFile(join(cwd, 'dist/index.html'), 'utf8'), 'hi\n');
});

test('a failing command throws build_failed with the exit code and the log tail', async () => {
  const { log, error } = await run('echo step one; echo "cannot find module x" >&2; exit 7');
  assert.equal(error?.code, 'build_failed');
  assert.equal(error?.details.exitCode, 7);
  assert.match(String(error?.details.logTail), /cannot find module x/);
  assert.match(log, /step one/);
});

test('the environment is scrubbed: server secrets are not visible, the base and extras are', async () => {
  process.env.SLIPWAY_TOKEN = 'server-secret-token';
  process.env.DATABASE_URL = 'postgres://secret';
  try {
    const { log } = await run('env', { env: { MY_BUILD_VAR: 'yes' } });
    assert.doesNotMatch(log, /server-secret-token|SLIPWAY_TOKEN|postgres:\/\/secret/);
    assert.match(log, /^CI=1$/m);
    assert.match(log, /^NODE_ENV=production$/m);
    assert.match(log, new RegExp(`^HOME=${cwd}$`, 'm'));
    assert.match(log, /^MY_BUILD_VAR=yes$/m);
  } finally {
    delete process.env.SLIPWAY_TOKEN;
    delete process.env.DATABASE_URL;
  }
});

test('stdin is closed', async () => {
  const { log, error } = await run('cat; echo "read ended"');
  assert.equal(error, undefined);
  assert.match(log, /read ended/);
});

test('a command past its deadline is killed with its grandchildren: build_timeout', async () => {
  const pidFile = join(cwd, 'grandchild.pid');
  const started = Date.now();
  const { error } = await run(`sh -c 'sleep 60' & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
  assert.equal(error?.code, 'build_timeout');
  assert.ok(Date.now() - started < 5000, 'killed promptly');
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await waitFor(() => !isProcessAlive(pid), { description: `grandchild ${pid} to be gone` });
});

test('a build ignoring SIGTERM is killed after the grace period', async () => {
  const pidFile = join(cwd, 'stubborn.pid');
  const started = Date.now();
  const { error } = await run(`echo $$ > ${pidFile}; trap '' TERM; while :; do sleep 0.1; done`, { timeoutMs: 200, killGraceMs: 200 });
  assert.equal(error?.code, 'build_timeout');
  // SIGKILL comes only once the grace has passed: the command had timeout + grace to go.
  // (10 ms of slack: a timer may fire a hair early against Date.now's millisecond clock.)
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 390, `ended after ${elapsed} ms, before the grace was over`);
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await waitFor(() => !isProcessAlive(pid), { description: `the shell ${pid} that ignored SIGTERM to be gone` });
});

test('the log is capped with a note but the build still succeeds', async () => {
  const { log, error } = await run('seq 1 100000', { maxLogBytes: 1000 });
  assert.equal(error, undefined);
  assert.ok(Buffer.byteLength(log) < 1200);
  assert.match(log, /log truncated/);
});

test('the command cannot reach outside what the user wrote: no injection through env values', async () => {
  const marker = join(cwd, 'injected');
  const { log, error } = await run('echo "$EVIL"', { env: { EVIL: `$(touch ${marker})` } });
  assert.equal(error, undefined);
  assert.equal(existsSync(marker), false);
  // A control: the value did reach the command, as text.
  assert.equal(log, `$(touch ${marker})\n`);
});

test('a build step is an argument vector: nothing in it reaches a shell', async () => {
  const chunks: string[] = [];
  await runBuildStep(['printf', '%s\\n', '$HOME; echo pwned', '`id`'], { cwd, timeoutMs: 10_000, maxLogBytes: 10_000, onLog: (c) => chunks.push(c) });
  assert.equal(chunks.join(''), '$HOME; echo pwned\n`id`\n');
  const err = await runBuildStep(['sh', '-c', 'exit 4'], { cwd, timeoutMs: 10_000, maxLogBytes: 10_000, onLog: () => {} }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, 'build_failed'));
  assert.deepEqual(err.details.argv, ['sh', '-c', 'exit 4']);
  assert.match(err.message, /^`sh -c exit 4` exited with code 4$/);
  const missing = await runBuildStep(['./no-such-tool'], { cwd, timeoutMs: 10_000, maxLogBytes: 10_000, onLog: () => {} }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(missing, 'build_failed'), String(missing));
});
