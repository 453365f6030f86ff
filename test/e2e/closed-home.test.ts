// The README's dynamic walkthrough with the state directory inside a closed folder, as root's
// default `/root/.slipway` is: build users cannot walk into it, so builds must run elsewhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startPlatform, type Platform } from '../support/platform.js';

const isRoot = process.getuid?.() === 0;
let platform: Platform | undefined;
let closed: string;

before(async () => {
  if (!isRoot) return;
  closed = await mkdtemp(join(tmpdir(), 'slipway-closed-'));
  await chmod(closed, 0o700);
  platform = await startPlatform({ home: join(closed, '.slipway') });
});
after(async () => {
  await platform?.stop();
  if (closed) {
    await rm(closed, { recursive: true, force: true });
    // Where the server put the build trees (see buildWorkDir).
    await rm(join('/var/tmp', `slipway-work-${createHash('sha256').update(join(closed, '.slipway')).digest('hex').slice(0, 12)}`), { recursive: true, force: true });
  }
});

test('publishing examples/hello-node works when the home sits in a 0700 folder', { skip: isRoot ? false : 'build users exist only as root' }, async () => {
  const p = platform!;
  const run = await p.cli(['publish', join(repoRoot, 'examples', 'hello-node'), '--deployment', 'hello-api', '--health-check-path', '/health', '--wait']);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /Ready: v1 → http:\/\/hello-api\.localhost/);
  const res = await p.edge('hello-api.localhost');
  assert.equal(res.status, 200);
  assert.match(res.text, /^Hello from v1 \(rti_/);
});
