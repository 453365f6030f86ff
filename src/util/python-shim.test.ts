import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemRootArgs } from '../runtime/local/sandbox-argv.js';
import { HOST_PYTHON_SHIM_DIR, hostPath, PYTHON_SHIM_DIR, pythonShimTarget, withPythonShim } from './python-shim.js';
import { withTempDir } from './temp-dir.js';

async function program(dir: string, name: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), '#!/bin/sh\n');
  await chmod(join(dir, name), 0o755);
}

test('the shim is wanted only where there is a python3 and no python', async () => {
  await withTempDir(async (root) => {
    const [a, b] = [join(root, 'a'), join(root, 'b')];
    assert.equal(pythonShimTarget([a, b]), null, 'no python3 at all: nothing to stand for');
    await program(b, 'python3');
    assert.equal(pythonShimTarget([a, b]), join(b, 'python3'));
    assert.equal(withPythonShim([a, b]), `${a}:${b}:${PYTHON_SHIM_DIR}`);
    await program(a, 'python');
    assert.equal(pythonShimTarget([a, b]), null, 'the host\'s own python wins, whatever its version');
    assert.equal(withPythonShim([a, b]), `${a}:${b}`);
  });
});

test('the shim runs python3 from the PATH, passing its arguments and exit status through', () => {
  const out = execFileSync(join(HOST_PYTHON_SHIM_DIR, 'python'), ['-c', 'import sys; print(sys.version_info[0], sys.argv[1:])', 'a b', 'c'], {
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, encoding: 'utf8',
  });
  assert.equal(out, "3 ['a b', 'c']\n");
  assert.throws(() => execFileSync(join(HOST_PYTHON_SHIM_DIR, 'python'), ['-c', 'raise SystemExit(7)'], { env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore' }), { status: 7 });
});

test('sandboxed instances get the shim at a neutral path; plain processes get the package\'s folder instead', () => {
  assert.ok(!PYTHON_SHIM_DIR.includes(HOST_PYTHON_SHIM_DIR) && !HOST_PYTHON_SHIM_DIR.startsWith(PYTHON_SHIM_DIR), 'the PATH entry never names the checkout');
  assert.equal(hostPath(`/usr/bin:${PYTHON_SHIM_DIR}`), `/usr/bin:${HOST_PYTHON_SHIM_DIR}`);
  assert.equal(hostPath('/usr/bin:/bin'), '/usr/bin:/bin');
  const args = systemRootArgs('/usr/bin/python3');
  const at = args.indexOf('--symlink', args.indexOf(join(PYTHON_SHIM_DIR, 'python')) - 3);
  assert.deepEqual(args.slice(at, at + 3), ['--symlink', '/usr/bin/python3', join(PYTHON_SHIM_DIR, 'python')]);
  assert.ok(!systemRootArgs(null).some((a) => a.startsWith(PYTHON_SHIM_DIR)));
});
