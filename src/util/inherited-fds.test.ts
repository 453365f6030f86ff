import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const moduleUrl = new URL('./inherited-fds.ts', import.meta.url).href;

/**
 * Runs a Node child that inherits descriptors 60 and 61, opened by bash without close-on-exec
 * (Node itself marks the low ones close-on-exec at start, so those would prove nothing).
 */
async function childReport(code: string): Promise<{ before: number[]; closed: number[]; after: number[] }> {
  const child = spawn('/bin/bash', ['-c', 'exec 60</dev/null 61</dev/null; exec "$0" "$@"', process.execPath, '--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await once(child, 'exit');
  return JSON.parse(out) as { before: number[]; closed: number[]; after: number[] };
}

test('inherited descriptors are found and closed; Node\'s own are left', async () => {
  const report = await childReport(`
    import { closeInheritedFds, inheritedFds } from ${JSON.stringify(moduleUrl)};
    const before = inheritedFds();
    const closed = closeInheritedFds([61]);
    process.stdout.write(JSON.stringify({ before, closed, after: inheritedFds() }));
  `);
  // Whatever else this test's own parent leaked is found too, so only 60 and 61 are certain.
  assert.ok(report.before.includes(60) && report.before.includes(61), JSON.stringify(report));
  assert.ok(report.closed.includes(60) && !report.closed.includes(61), JSON.stringify(report));
  assert.deepEqual(report.after, [61], 'stdio, Node\'s own descriptors and the kept one stay');
});
