import { DEFAULT_PORTS } from './app-plan.js';
import { readSourceFile } from './detect-support.js';
import type { SourceFacts } from './frameworks/source-facts.js';

/** How a Python app starts, and why. */
export interface PythonStart {
  /** `django`, `fastapi`, `flask` or `python`. */
  framework: string;
  found: string[];
  runCommand: string;
  port: number;
  portWhy: string;
}

/** What {@link pythonStart} is given. */
export interface PythonStartInput {
  /** requirements.txt and pyproject.toml, to look for package names in. */
  deps: string;
  /** `.venv/bin/python` when there is a virtualenv, else `python3`. */
  python: string;
  /** The first of app.py, main.py, server.py at the root. */
  entry: string | undefined;
}

/** Flask's `app.run()` listens here unless told otherwise. */
const FLASK_PORT = 5000;

/**
 * Django (`manage.py`): gunicorn on `<project>.wsgi` when gunicorn is a dependency, else
 * `manage.py runserver 0.0.0.0:$PORT --noreload`. FastAPI: uvicorn on `<module>:<app>` when
 * uvicorn is a dependency. Flask: gunicorn on `<module>:<app>` when it is a dependency. Otherwise
 * the entry file runs as it is, and its port is the one it reads from `PORT`, else a literal
 * port it names (`port=8080`, `('', 8000)`), else Flask's 5000 for a Flask app, else 8000.
 * Servers started here bind `0.0.0.0:$PORT`.
 */
export async function pythonStart(facts: SourceFacts, input: PythonStartInput): Promise<PythonStart | undefined> {
  const { python, entry } = input;
  const has = (name: string): boolean => new RegExp(`(^|[\\s"'\\[,])${name}([\\s"'\\]<>=~!;,\\[]|$)`, 'im').test(input.deps);
  const gunicorn = has('gunicorn');
  if (facts.rootFiles.has('manage.py')) {
    const manage = (await readSourceFile(facts, 'manage.py')) ?? '';
    const project = /DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)\.settings['"]/.exec(manage)?.[1];
    const found = ['manage.py found: Django'];
    if (gunicorn && project !== undefined) {
      return { framework: 'django', found: [...found, `gunicorn is a dependency; settings in ${project}`], runCommand: `${python} -m gunicorn --bind 0.0.0.0:$PORT ${project}.wsgi`, port: DEFAULT_PORTS.python, portWhy: "Django's default (bound to PORT)" };
    }
    return { framework: 'django', found, runCommand: `${python} manage.py runserver 0.0.0.0:$PORT --noreload`, port: DEFAULT_PORTS.python, portWhy: "Django's default (bound to PORT)" };
  }
  if (entry === undefined) return undefined;
  const source = (await readSourceFile(facts, entry)) ?? '';
  const module = entry.replace(/\.py$/, '');
  if (has('fastapi') && (has('uvicorn') || /fastapi\[standard\]/i.test(input.deps))) {
    const app = /^(\w+)\s*(?::[^=]+)?=\s*FastAPI\(/m.exec(source)?.[1];
    if (app !== undefined) {
      return { framework: 'fastapi', found: [`FastAPI app \`${app}\` in ${entry}`, 'uvicorn is a dependency'], runCommand: `${python} -m uvicorn ${module}:${app} --host 0.0.0.0 --port $PORT`, port: DEFAULT_PORTS.python, portWhy: "uvicorn's default (bound to PORT)" };
    }
  }
  const flaskApp = has('flask') ? /^(\w+)\s*(?::[^=]+)?=\s*Flask\(/m.exec(source)?.[1] : undefined;
  if (flaskApp !== undefined && gunicorn) {
    return { framework: 'flask', found: [`Flask app \`${flaskApp}\` in ${entry}`, 'gunicorn is a dependency'], runCommand: `${python} -m gunicorn --bind 0.0.0.0:$PORT ${module}:${flaskApp}`, port: DEFAULT_PORTS.python, portWhy: "gunicorn's usual port (bound to PORT)" };
  }
  const framework = flaskApp !== undefined ? 'flask' : has('fastapi') ? 'fastapi' : 'python';
  return { framework, found: [`${entry} found`], runCommand: `${python} ${entry}`, ...entryPort(source, flaskApp !== undefined) };
}

/** The port an entry file listens on, as far as its text says. */
function entryPort(source: string, flask: boolean): { port: number; portWhy: string } {
  if (/environ/.test(source) && /['"]PORT['"]/.test(source)) return { port: DEFAULT_PORTS.python, portWhy: 'the app reads PORT' };
  const literal = /\bport\s*=\s*(\d{2,5})\b/i.exec(source)?.[1] ?? /\(\s*['"][\w.:]*['"]\s*,\s*(\d{2,5})\s*\)/.exec(source)?.[1];
  const port = literal === undefined ? undefined : Number(literal);
  if (port !== undefined && port >= 1 && port <= 65535) return { port, portWhy: 'the port the app names in its code' };
  if (flask) return { port: FLASK_PORT, portWhy: "Flask's app.run() default" };
  return { port: DEFAULT_PORTS.python, portWhy: 'the Python convention (the app gets PORT)' };
}
