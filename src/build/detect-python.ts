import { DEFAULT_PORTS, type EcosystemPlan } from './app-plan.js';
import { firstSourceFile, readSourceFile, requireTool, type DetectContext } from './detect-support.js';

/** Entry files tried, in order, when the publish gives no run command. */
export const PYTHON_ENTRY_FILES = ['app.py', 'main.py', 'server.py'] as const;

const VENV = '.venv';
const VENV_PYTHON = `${VENV}/bin/python`;

/**
 * Run with the venv's python after the install, as the build user: a console script (`gunicorn`,
 * `uvicorn`, …) starts with `#!<build tree>/.venv/bin/python`, a path gone once the release
 * runs elsewhere (`/app` in the sandbox). Its first line becomes the header pip itself writes
 * when a path cannot go on a `#!` line: valid sh and valid Python, it runs the `python` beside
 * the script wherever the tree now is. Symlinks are left alone.
 */
export const RELOCATE_VENV_SCRIPTS = [
  'import os, sys',
  "b = os.path.join(sys.prefix, 'bin')",
  'old = (\'#!\' + b + \'/\').encode()',
  'new = b"#!/bin/sh\\n\'\'\'exec\' \\"$(dirname -- \\"$(realpath -- \\"$0\\")\\")\\"/python \\"$0\\" \\"$@\\"\\n\' \'\'\'\\n"',
  'n = 0',
  'for name in sorted(os.listdir(b)):',
  '    p = os.path.join(b, name)',
  '    if os.path.islink(p) or not os.path.isfile(p): continue',
  "    with open(p, 'rb') as f: data = f.read()",
  '    if not data.startswith(old): continue',
  "    with open(p, 'wb') as f: f.write(new + data[data.index(b'\\n') + 1:])",
  '    n += 1',
  "print(f'[slipway] made {n} virtualenv script(s) find their python wherever the release runs')",
].join('\n');

/**
 * A Python app (`requirements.txt` or `pyproject.toml` at the root); needs `python3`. When there
 * is something to install, a virtualenv is made inside the app (`python3 -m venv --copies
 * .venv`: copies, not links to the host's interpreter, which would leave the tree) and filled
 * with `.venv/bin/python -m pip install -r requirements.txt`, or `pip install .` for a
 * `pyproject.toml` that declares a project and has no `requirements.txt` beside it. A
 * `requirements.txt` with no package lines installs nothing and makes no virtualenv, so a
 * stdlib-only app builds without the network. It starts with `<python> app.py`, `main.py` or
 * `server.py`, whichever exists first, where `<python>` is `.venv/bin/python` when there is a
 * virtualenv and `python3` otherwise; with none of them there is no run command.
 */
export async function detectPython(ctx: DetectContext): Promise<EcosystemPlan | null> {
  const requirements = await readSourceFile(ctx, 'requirements.txt');
  const pyproject = await readSourceFile(ctx, 'pyproject.toml');
  if (requirements === undefined && pyproject === undefined) return null;
  await requireTool(ctx, 'python3');
  const pipArgs = requirements !== undefined ? (hasRequirements(requirements) ? ['-r', 'requirements.txt'] : null)
    : declaresProject(pyproject ?? '') ? ['.'] : null;
  const install = pipArgs === null ? [] : [
    ['python3', '-m', 'venv', '--copies', VENV],
    [VENV_PYTHON, '-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', ...pipArgs],
    [VENV_PYTHON, '-c', RELOCATE_VENV_SCRIPTS],
  ];
  const entry = await firstSourceFile(ctx, PYTHON_ENTRY_FILES);
  const python = pipArgs === null ? 'python3' : VENV_PYTHON;
  return {
    detected: 'python',
    install,
    runCommand: entry === undefined ? undefined : `${python} ${entry}`,
    port: DEFAULT_PORTS.python,
    canBeStatic: false,
  };
}

/** True when a requirements file names anything (not only blank lines and comments). */
function hasRequirements(text: string): boolean {
  return text.split(/\r?\n/).some((line) => {
    const content = line.replace(/(^|\s)#.*$/, '').trim();
    return content !== '';
  });
}

/** True when a pyproject.toml describes an installable project, not only tool settings. */
function declaresProject(text: string): boolean {
  return /^\s*\[(project|build-system|tool\.poetry)\]\s*$/m.test(text);
}
