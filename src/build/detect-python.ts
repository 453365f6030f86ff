import { DEFAULT_PORTS } from './app-plan.js';
import { findExecutable } from './find-executable.js';
import { readSourceFile, requireTool } from './detect-support.js';
import type { AppDetection } from './frameworks/framework-rule.js';
import type { SourceFacts } from './frameworks/source-facts.js';
import { pythonStart } from './python-start.js';

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
 * A Python app: a `requirements.txt` or `pyproject.toml` at the root, or (stdlib only) a root
 * `app.py`, `main.py` or `server.py`; needs `python3`. When there is something to install, a
 * virtualenv is made inside the app (`python3 -m venv --copies .venv`: copies, not links to the
 * host's interpreter, which would leave the tree) and filled with `.venv/bin/python -m pip
 * install -r requirements.txt`, or for a `pyproject.toml` that declares a project (PEP 621,
 * poetry-core) with no `requirements.txt` beside it: with a `uv.lock` and `uv` on the host,
 * `uv sync --frozen` (the locked packages and the project), else `pip install .`. A
 * `requirements.txt` with no package lines installs nothing and makes no virtualenv, so a
 * stdlib-only app builds without the network. How it starts (Django, FastAPI, Flask, a plain
 * entry file) is {@link pythonStart}'s choice.
 */
export async function detectPython(facts: SourceFacts): Promise<AppDetection | null> {
  const requirements = facts.rootFiles.has('requirements.txt') ? await readSourceFile(facts, 'requirements.txt') : undefined;
  const pyproject = facts.rootFiles.has('pyproject.toml') ? await readSourceFile(facts, 'pyproject.toml') : undefined;
  const entry = PYTHON_ENTRY_FILES.find((name) => facts.rootFiles.has(name));
  const manage = facts.rootFiles.has('manage.py');
  if (requirements === undefined && pyproject === undefined && entry === undefined && !manage) return null;
  await requireTool(facts, 'python3');
  const reasons: string[] = [];
  let pip: string[][] | null = null;
  if (requirements !== undefined) {
    reasons.push(hasRequirements(requirements) ? 'requirements.txt: pip install -r requirements.txt into .venv' : 'requirements.txt names no packages: nothing to install');
    if (hasRequirements(requirements)) pip = [[VENV_PYTHON, '-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '-r', 'requirements.txt']];
  } else if (pyproject !== undefined && declaresProject(pyproject)) {
    const uv = facts.rootFiles.has('uv.lock') && (await findExecutable('uv', facts.pathEnv)) !== null;
    if (uv) {
      reasons.push('pyproject.toml and uv.lock, uv installed: uv sync --frozen into .venv (the locked packages and the project itself)');
      pip = [UV_SYNC];
    } else {
      const tool = facts.rootFiles.has('poetry.lock') || /^\s*\[tool\.poetry\]/m.test(pyproject) ? 'poetry project' : facts.rootFiles.has('uv.lock') ? 'uv.lock, but no uv on the host' : 'project';
      reasons.push(`pyproject.toml (${tool}): pip install . into .venv`);
      pip = [[VENV_PYTHON, '-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '.']];
    }
  } else {
    reasons.push(pyproject === undefined ? `${entry ?? 'manage.py'} with no requirements.txt: the standard library only` : 'pyproject.toml declares no project: nothing to install');
  }
  const install = pip === null ? [] : [['python3', '-m', 'venv', '--copies', VENV], ...pip, [VENV_PYTHON, '-c', RELOCATE_VENV_SCRIPTS]];
  const start = await pythonStart(facts, { deps: `${requirements ?? ''}\n${pyproject ?? ''}`, python: pip === null ? 'python3' : VENV_PYTHON, entry });
  return {
    kind: 'dynamic',
    detected: start?.framework ?? 'python',
    reasons: [...(start?.found ?? []), ...reasons, ...(start === undefined ? ['no app.py, main.py, server.py or manage.py: nothing to run'] : [`run: ${start.runCommand}`, `port ${start.port}: ${start.portWhy}`])],
    install,
    ...(start === undefined ? {} : { runCommand: start.runCommand }),
    port: start?.port ?? DEFAULT_PORTS.python,
    canBeStatic: false,
  };
}

/**
 * Fills the `.venv` made just before (uv's default project environment, used as it is when its
 * python satisfies `requires-python`) with the locked packages and the project itself, as a user
 * of uv expects; a virtual project (no build system, or `tool.uv.package = false`) is not
 * installed, by uv's own rule. `--no-editable`: an editable install is a link into the build's
 * tree, gone once the release runs elsewhere. `--no-python-downloads`: an interpreter uv fetched
 * would live outside the release. `--python .venv/bin/python`: when that python does not satisfy
 * `requires-python`, uv would otherwise make `.venv` again from some other interpreter on the
 * host, linked to it outside the release; pinned, the sync fails and says why.
 */
const UV_SYNC = ['uv', 'sync', '--frozen', '--no-dev', '--no-editable', '--no-python-downloads', '--python', VENV_PYTHON];

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
