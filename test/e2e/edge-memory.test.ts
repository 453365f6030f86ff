// The edge's memory stays bounded whatever a release holds: a small upload that unpacks to a
// huge file is served from the edge's disk cache, not from memory (it used to take a 4 MB
// tar.gz holding 900 MiB of zeros to lift the edge from 96 MB to 2.88 GB, for good).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createGzip } from 'node:zlib';
import { rawHeader, rawTar } from '../support/archive/raw-tar-fixture.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type Platform } from '../support/platform.js';

const MiB = 1024 * 1024;
const ZEROS = 384 * MiB;
let platform: Platform;

before(async () => {
  platform = await startPlatform({ env: { SLIPWAY_EDGE_MEMORY_BYTES: String(16 * MiB) } });
});
after(async () => platform?.stop());

/** A tar.gz of `index.html` and `zeros.bin` (`ZEROS` bytes), made without holding the zeros. */
async function zerosArchive(): Promise<Buffer> {
  const gzip = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => gzip.on('end', resolve).on('error', reject));
  gzip.write(rawTar([{ name: 'index.html', body: '<h1>zeros</h1>' }], { end: false }));
  gzip.write(rawHeader({ name: 'zeros.bin', size: ZEROS }));
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < ZEROS / MiB; i++) if (!gzip.write(chunk)) await new Promise((r) => gzip.once('drain', r));
  gzip.end(Buffer.alloc(1024));
  await done;
  return Buffer.concat(out);
}

/** The `slipway edge` child of `slipway up`. */
async function edgePid(): Promise<number> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (!new RegExp(`^PPid:\\s+${platform.up.pid}$`, 'm').test(status)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    if (argv.at(-1) === 'edge') return Number(name);
  }
  throw new Error('no slipway edge process under slipway up');
}

/** The process's peak resident memory so far (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match, 'VmHWM in /proc/<pid>/status');
  return Number(match[1]) * 1024;
}

/** GETs through the edge, hashing the body as it arrives. */
function digestThroughEdge(host: string, path: string): Promise<{ status: number; bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: platform.httpPort, path, agent: false, headers: { host } }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a small upload holding 384 MiB of zeros is served whole while the edge stays small', async (t) => {
  const archive = await zerosArchive();
  assert.ok(archive.length < 4 * MiB, `the upload is small (${archive.length} bytes)`);
  const pid = await edgePid();
  const before = await peakRss(pid);

  const dep = await platform.client.createDeployment({ slug: 'zeros' });
  const published = await platform.client.publish('zeros', archive, { wait: true });
  assert.equal(published.promoted, true);
  const host = new URL(dep.public_url).hostname;
  await waitFor(async () => (await digestThroughEdge(host, '/')).status === 200, { description: 'the edge serving the release', timeoutMs: 60_000 });
  const served = await digestThroughEdge(host, '/zeros.bin');
  const zerosSha = createHash('sha256');
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < ZEROS / MiB; i++) zerosSha.update(chunk);
  assert.deepEqual(served, { status: 200, bytes: ZEROS, sha256: zerosSha.digest('hex') });

  const growth = (await peakRss(pid)) - before;
  t.diagnostic(`edge peak RSS ${Math.round(before / MiB)} MiB before, +${Math.round(growth / MiB)} MiB after`);
  assert.ok(growth < 96 * MiB, `the edge's peak memory grew by ${Math.round(growth / MiB)} MiB for a ${ZEROS / MiB} MiB file`);
});
