import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { plainScriptWords, startScriptRun } from './start-script.js';

let work: string;
let counter = 0;

before(async () => {
  work = await makeTempDir('start-script-test-');
});
after(async () => {
  await removeDir(work);
});

/** A package folder with `files` (package.json given as an object). */
async function pkgDir(pkg: Record<string, unknown>, files: Record<string, string> = {}): Promise<string> {
  const dir = join(work, `pkg-${counter++}`);
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const choose = async (pkg: Record<string, unknown>, files: Record<string, string> = {}) => {
  const dir = await pkgDir(pkg, files);
  const script = (pkg.scripts as Record<string, string>).start!;
  return { dir, choice: await startScriptRun({ srcDir: dir, pathEnv: '', hasBuildCommand: false }, script) };
};

test('a plain start script runs directly: node_modules/.bin first on PATH, the package name and version, exec', async () => {
  const { choice } = await choose({ name: 'shop', version: '1.2.3', scripts: { start: 'node server.js --port-from-env' } });
  assert.equal(choice.direct, true);
  assert.equal(choice.command, 'PATH="$PWD/node_modules/.bin:$PATH" npm_package_name=shop npm_package_version=1.2.3 exec node server.js --port-from-env');
  assert.match(choice.why, /^the start script `node server\.js --port-from-env`, run directly/);
});

test('leading assignments, also after cross-env, go before exec; quotes are kept as written', async () => {
  const { choice } = await choose({ name: '@acme/web', scripts: { start: "cross-env NODE_ENV=production TITLE='a b' next start -p 3000" } });
  assert.equal(choice.command, `PATH="$PWD/node_modules/.bin:$PATH" npm_package_name=@acme/web NODE_ENV=production TITLE='a b' exec next start -p 3000`);
});

test('npm stays for what a direct run would change: hooks, npm config, package managers, shell syntax', async () => {
  const cases: Array<[Record<string, unknown>, Record<string, string>, RegExp]> = [
    [{ scripts: { start: 'node s.js', prestart: 'node migrate.js' } }, {}, /a prestart script/],
    [{ scripts: { start: 'node s.js', poststart: 'echo' } }, {}, /a poststart script/],
    [{ scripts: { start: 'node s.js' }, config: { port: 8080 } }, {}, /config field/],
    [{ scripts: { start: 'node s.js' } }, { '.npmrc': 'registry=https://r.example\nnode-options=--max-old-space-size=256\n' }, /\.npmrc sets node-options/],
    [{ scripts: { start: 'npm run serve' } }, {}, /calls a package manager/],
    [{ scripts: { start: 'concurrently "yarn api" web' } }, {}, /calls a package manager/],
    [{ scripts: { start: 'node migrate.js && node s.js' } }, {}, /shell syntax/],
    [{ scripts: { start: 'node s.js > out.log' } }, {}, /shell syntax/],
    [{ scripts: { start: 'node $ENTRY' } }, {}, /shell syntax/],
    [{ scripts: { start: 'node dist/*.js' } }, {}, /shell syntax/],
    [{ scripts: { start: 'node "s.js' } }, {}, /unbalanced quote/],
    [{ scripts: { start: 'NODE_ENV=production' } }, {}, /runs no command/],
  ];
  for (const [pkg, files, why] of cases) {
    const { choice } = await choose(pkg, files);
    assert.equal(choice.command, 'npm start', JSON.stringify(pkg));
    assert.equal(choice.direct, false);
    assert.match(choice.why, why, JSON.stringify(pkg));
  }
  // A registry setting in .npmrc changes nothing at run time.
  const { choice } = await choose({ scripts: { start: 'node s.js' } }, { '.npmrc': 'registry=https://r.example\n' });
  assert.equal(choice.direct, true);
});

test('plainScriptWords splits words outside quotes and refuses a cross-env flag', () => {
  assert.deepEqual(plainScriptWords(`  A=1   node  "my app.js"\t--x  `), { assignments: ['A=1'], command: ['node', '"my app.js"', '--x'] });
  assert.equal(typeof plainScriptWords('cross-env --shell node s.js'), 'string');
});

test('the direct command, run as the runtime runs it (sh -c in the app folder), finds the bin, sees the env and replaces the shell', async () => {
  const { dir, choice } = await choose({ name: 'tool-app', version: '0.0.1', scripts: { start: "cross-env GREETING='hi there' report-env one" } });
  await mkdir(join(dir, 'node_modules', '.bin'), { recursive: true });
  // Prints what the app would see: its pid, the PATH, the npm variables and the assignment.
  const bin = join(dir, 'node_modules', '.bin', 'report-env');
  await writeFile(bin, '#!/bin/sh\necho "$$|$PATH|$npm_package_name|$npm_package_version|$GREETING|$1"\n');
  await chmod(bin, 0o755);
  const child = spawn('/bin/sh', ['-c', choice.command], { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  const [pid, path, name, version, greeting, arg] = out.trim().split('|');
  assert.equal(Number(pid), child.pid, 'the shell exec-ed the command: no shell stays above the app');
  assert.equal(path, `${dir}/node_modules/.bin:/usr/bin:/bin`);
  assert.deepEqual([name, version, greeting, arg], ['tool-app', '0.0.1', 'hi there', 'one']);
});
