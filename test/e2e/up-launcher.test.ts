// `npm run up` (scripts/up.mjs) and `slipway` (bin/slipway.mjs) must become `slipway up`
// themselves rather than wait on it as a child: a waiting parent stays resident as a second Node
// process above the supervisor (docs/operations.md#memory), and signals must reach `up`'s own
// handlers. The real scripts run in a scratch root whose `slipway` is a stub that reports its
// pid and argv and how it was stopped, so the test takes seconds instead of a platform start.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/util/wait-for.js';
import { repoRoot } from '../support/platform.js';

const scratch: string[] = [];
const started: ChildProcess[] = [];
after(async () => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

// Writes what the process that runs `slipway up` is, then waits for a signal and records it.
const STUB_MAIN = `
import { writeFileSync } from 'node:fs';
const report = process.env.STUB_REPORT!;
writeFileSync(report, JSON.stringify({ pid: process.pid, argv: process.argv }));
process.on('SIGTERM', () => {
  writeFileSync(report + '.stopped', 'SIGTERM');
  process.exit(0);
});
setInterval(() => undefined, 1000);
`;

/** A root with the real launch scripts, a stub `src/main.ts` and just the modules they use. */
async function scratchRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'slipway-up-launcher-'));
  scratch.push(root);
  for (const dir of ['scripts', 'bin', 'src', 'node_modules/@types']) await mkdir(join(root, dir), { recursive: true });
  await copyFile(join(repoRoot, 'scripts', 'up.mjs'), join(root, 'scripts', 'up.mjs'));
  await copyFile(join(repoRoot, 'bin', 'slipway.mjs'), join(root, 'bin', 'slipway.mjs'));
  await writeFile(join(root, 'src', 'main.ts'), STUB_MAIN);
  await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'stub', type: 'module', scripts: { up: 'node scripts/up.mjs' } }));
  await writeFile(join(root, 'tsconfig.build.json'), JSON.stringify({
    compilerOptions: { rootDir: 'src', outDir: 'dist', module: 'nodenext', target: 'es2022', strict: true, types: ['node'] }, include: ['src'],
  }));
  // Linked one by one (never node_modules whole): up.mjs would `npm ci` a stale install, and
  // that must not reach the repository's own modules.
  for (const name of ['typescript', 'tsx', '@types/node']) await symlink(join(repoRoot, 'node_modules', name), join(root, 'node_modules', name));
  await writeFile(join(root, 'package-lock.json'), '{}');
  // Written after the lockfile: the install counts as current.
  await writeFile(join(root, 'node_modules', '.package-lock.json'), '{}');
  return root;
}

interface Report {
  pid: number;
  argv: string[];
}

/** Starts `argv` in `root` in its own process group; resolves with the stub's report. */
async function launch(root: string, argv: string[]): Promise<{ child: ChildProcess; report: Report; reportFile: string; output: () => string }> {
  const reportFile = join(root, `report-${started.length}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, STUB_REPORT: reportFile, SLIPWAY_RUNTIME_ISOLATION: 'none' };
  delete env.SLIPWAY_RUNTIME_DRIVER;
  const child = spawn(argv[0]!, argv.slice(1), { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(() => existsSync(reportFile) || child.exitCode !== null, { timeoutMs: 120_000, intervalMs: 50, description: `${argv.join(' ')} to start the stub` });
  assert.ok(existsSync(reportFile), `${argv.join(' ')} ended without starting slipway up:\n${out}`);
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as Report;
  return { child, report, reportFile, output: () => out };
}

const parentOf = async (pid: number): Promise<number> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};
const commandOf = async (pid: number): Promise<string[]> => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);

test('node scripts/up.mjs becomes slipway up in its own process, and SIGTERM reaches it there', async () => {
  const root = await scratchRoot();
  const { child, report, reportFile, output } = await launch(root, [process.execPath, 'scripts/up.mjs']);
  assert.equal(report.pid, child.pid, `slipway up ran in pid ${report.pid}, not in up.mjs's own ${child.pid}:\n${output()}`);
  // `up` starts its children as `node <argv[1]> <command>`: that must be the executable.
  assert.deepEqual(report.argv.slice(1), [join(root, 'bin', 'slipway.mjs'), 'up']);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(await readFile(`${reportFile}.stopped`, 'utf8'), 'SIGTERM');
});

test('npm run up leaves no Node process between npm and slipway up', async () => {
  const root = await scratchRoot();
  const { child, report } = await launch(root, ['npm', 'run', 'up']);
  const between: string[][] = [];
  for (let pid = await parentOf(report.pid); pid !== child.pid && pid > 1; pid = await parentOf(pid)) between.push(await commandOf(pid));
  const nodes = between.filter((argv) => /(^|\/)node$/.test(argv[0] ?? ''));
  assert.deepEqual(nodes, [], `Node processes between npm (${child.pid}) and slipway up (${report.pid}): ${JSON.stringify(between)}`);
});

test('bin/slipway.mjs without a build runs the sources through tsx in its own process', async () => {
  const root = await scratchRoot();
  assert.equal(existsSync(join(root, 'dist')), false);
  const { child, report } = await launch(root, [process.execPath, 'bin/slipway.mjs', 'up']);
  assert.equal(report.pid, child.pid, 'the sources ran in a child of bin/slipway.mjs');
  assert.deepEqual(report.argv.slice(1), [join(root, 'bin', 'slipway.mjs'), 'up']);
});
