#!/usr/bin/env node
// `npm run bench`: runs bench/run.ts with tsx, in one run: static publish and rollback latency
// through the edge; dynamic apps (publish → promoted against the app's own boot time, failed
// requests under load during publish, rollback, kill -9 of a replica, the server and the agent,
// and the time to recover from a crash); the edge against nginx with wrk, serving static files
// and as a reverse proxy (skipped with a note when wrk or nginx is missing); API latency during
// hostile uploads. Arguments name the groups to run (`npm run bench -- dynamic proxy`); none
// runs all. Plain JavaScript so that it can say clearly what is missing before anything
// TypeScript loads.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
try {
  createRequire(join(root, 'package.json')).resolve('tsx');
} catch {
  console.error('bench: tsx is not installed (it is a devDependency). Run `npm ci` in the repository first.');
  process.exit(1);
}

const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'run.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
// Ctrl-C reaches the whole process group, the bench included: it cleans up and exits by
// itself, so wait for it. A signal sent to this script alone is passed on.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGHUP', () => child.kill('SIGHUP'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
