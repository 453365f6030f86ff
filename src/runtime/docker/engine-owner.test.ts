import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../../util/process-alive.js';
import { removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import { engineOwners, isDockerdOn, lockEngineState } from './engine-owner.js';

test('a dockerd on the data-root is found by its arguments, with or without a pid file; a pid file naming another process is not trusted', async () => {
  const dir = await mkdtemp('/tmp/swd-owner-');
  const dataRoot = join(dir, 'data');
  const pidFile = join(dir, 'dockerd.pid');
  // Stands in for dockerd: only its arguments are read.
  const fake = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', `--data-root=${dataRoot}`], { stdio: 'ignore' });
  try {
    const pid = fake.pid as number;
    await waitFor(() => isDockerdOn(pid, dataRoot), { description: 'the stand-in to run' });
    assert.deepEqual(engineOwners({ pidFile, dataRoot }), [pid], 'no pid file');
    await writeFile(pidFile, `${process.pid}\n`);
    assert.equal(isDockerdOn(process.pid, dataRoot), false);
    assert.deepEqual(engineOwners({ pidFile, dataRoot }), [pid], 'a pid file naming an unrelated live process');
    assert.deepEqual(engineOwners({ pidFile, dataRoot: join(dir, 'other') }), [], 'another data-root');
  } finally {
    fake.kill('SIGKILL');
    await removeDir(dir);
  }
});

test('the start lock is held by one caller at a time, a live process\'s lock is waited for, and a dead one\'s taken over', async () => {
  const dir = await mkdtemp('/tmp/swd-lock-');
  try {
    // A lock file whose process is gone (a killed agent): pid 2^22 + 1 is above any pid_max.
    await writeFile(join(dir, 'engine.lock'), '4194305\n');
    assert.equal(processAlive(4_194_305), false);
    const first = await lockEngineState(dir, 5_000);
    assert.equal((await readFile(join(dir, 'engine.lock'), 'utf8')).trim(), String(process.pid));
    // A second caller in this process waits for the first's release, here past its own wait.
    await assert.rejects(lockEngineState(dir, 300), (err: Error & { code?: string }) => err.code === 'unavailable');
    const second = lockEngineState(dir, 5_000);
    await first();
    await (await second)();
    await assert.rejects(readFile(join(dir, 'engine.lock')), { code: 'ENOENT' });
    // Held by another live process (pid 1 stands in for an agent starting the engine).
    await writeFile(join(dir, 'engine.lock'), '1\n');
    await assert.rejects(lockEngineState(dir, 300), (err: Error & { code?: string }) => err.code === 'unavailable' && /pid 1\b/.test(err.message));
    assert.equal((await readFile(join(dir, 'engine.lock'), 'utf8')).trim(), '1', 'a live holder\'s lock is left alone');
  } finally {
    await removeDir(dir);
  }
});
