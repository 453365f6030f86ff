import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../util/wait-for.js';
import { withTempDir } from '../util/temp-dir.js';
import { LogShipper } from './log-shipper.js';

test('ships whole lines, resumes from the saved offset, and holds lines while the server is away', () => withTempDir(async (dir) => {
  const logPath = join(dir, 'rti_x.log');
  await writeFile(logPath, 'one\ntwo\npart');
  const shipped: string[] = [];
  let up = true;
  const ship = async (lines: Array<{ line: string }>) => {
    if (!up) return 'failed' as const;
    shipped.push(...lines.map((l) => l.line));
    return 'ok' as const;
  };
  const first = new LogShipper({ logPath, ship, intervalMs: 20 });
  first.start();
  await waitFor(() => shipped.length === 2);
  assert.deepEqual(shipped, ['one', 'two'], 'an unterminated line waits for its end');
  up = false;
  await appendFile(logPath, 'ial\nthree\n');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(shipped.length, 2, 'nothing is lost or sent while the server refuses');
  up = true;
  await waitFor(() => shipped.length === 4);
  assert.deepEqual(shipped.slice(2), ['partial', 'three']);
  first.detach();
  // A new agent continues from the saved offset.
  await appendFile(logPath, 'four\n');
  const second = new LogShipper({ logPath, ship, intervalMs: 20 });
  second.start();
  await waitFor(() => shipped.length === 5);
  assert.deepEqual(shipped.slice(4), ['four']);
  await second.finish();
}));

test('empties the file once everything in it is shipped and it passed the bound', () => withTempDir(async (dir) => {
  const logPath = join(dir, 'rti_y.log');
  await writeFile(logPath, 'x'.repeat(99) + '\n'.repeat(1) + 'y\n');
  const shipped: string[] = [];
  const shipper = new LogShipper({ logPath, ship: async (lines) => { shipped.push(...lines.map((l) => l.line)); return 'ok'; }, intervalMs: 20, maxFileBytes: 50 });
  shipper.start();
  await waitFor(async () => shipped.length === 2 && (await stat(logPath)).size === 0);
  await appendFile(logPath, 'z\n');
  await waitFor(() => shipped.length === 3);
  assert.equal(shipped[2], 'z');
  // The offset is saved just after the lines go out: wait for it rather than race the write.
  await waitFor(async () => (await readFile(`${logPath}.offset`, 'utf8').catch(() => '')) === '2');
  shipper.detach();
}));
