import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../util/process-alive.js';
import { waitFor } from '../util/wait-for.js';
import { codeBuildId, edgeRecordPath, findLeftEdge, programBuildId, programVersion } from './edge-record.js';

/** A live process that looks like `slipway <command>` for `home` (its argv ends in the command). */
function fakeSlipwayProcess(command: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)', command], { env, stdio: 'ignore' });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await waitFor(() => !processAlive(child.pid!), { description: 'the fake process to exit' });
}

test('a left edge of this build is adopted; one of another build, or of no recorded build, is replaced', async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-edge-record-'));
  const edgeDir = join(home, 'edge');
  await mkdir(edgeDir);
  const edge = fakeSlipwayProcess('edge', { ...process.env, SLIPWAY_HOME: home });
  try {
    await waitFor(() => edge.pid);
    const write = (record: object) => writeFile(edgeRecordPath(edgeDir), JSON.stringify({ pid: edge.pid, version: programVersion(), startedAt: 1, ...record }));
    await write({ build: programBuildId() });
    assert.equal((await findLeftEdge(edgeDir, home))?.sameBuild, true);
    // Same package.json version, other code: must not be adopted.
    await write({ build: 'f'.repeat(64) });
    assert.equal((await findLeftEdge(edgeDir, home))?.sameBuild, false);
    await write({});
    assert.equal((await findLeftEdge(edgeDir, home))?.sameBuild, false);
    // Another home's edge is not this home's.
    assert.equal(await findLeftEdge(edgeDir, join(home, 'other')), null);
  } finally {
    await stopChild(edge);
    await rm(home, { recursive: true, force: true });
  }
});

test('the build id changes with the code (a file, its contents, the version), not with a rewrite of the same bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-build-id-'));
  try {
    await mkdir(join(dir, 'server'));
    await writeFile(join(dir, 'server', 'a.js'), 'one');
    const base = codeBuildId(dir, '1.0.0');
    assert.notEqual(codeBuildId(dir, '1.0.1'), base);
    // tsc rewriting unchanged output: same bytes, new mtime.
    await writeFile(join(dir, 'server', 'a.js'), 'one');
    await utimes(join(dir, 'server', 'a.js'), 1000, 2000);
    assert.equal(codeBuildId(dir, '1.0.0'), base);
    await writeFile(join(dir, 'server', 'a.js'), 'two');
    const edited = codeBuildId(dir, '1.0.0');
    assert.notEqual(edited, base, 'an edit that keeps the size');
    await writeFile(join(dir, 'server', 'b.js'), '');
    const added = codeBuildId(dir, '1.0.0');
    assert.notEqual(added, edited, 'a new file');
    // Unit tests, source maps and build info are not the program.
    await writeFile(join(dir, 'server', 'b.test.ts'), 'x');
    await writeFile(join(dir, 'server', 'b.js.map'), 'x');
    await writeFile(join(dir, '.tsbuildinfo'), 'x');
    assert.equal(codeBuildId(dir, '1.0.0'), added);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
