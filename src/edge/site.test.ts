import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { isSlipwayError } from '../core/errors.js';
import { loadSite } from '../../test/support/edge/load-site.js';
import { buildReleaseTar, releaseEntries, sha256Hex, writeTar, type TarInput } from '../../test/support/edge/test-helpers.js';

const headerMap = (flat: string[]) => {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[(flat[i] as string).toLowerCase()] = flat[i + 1] as string;
  return out;
};

test('loads files, variants, strong per-variant ETags and precomputed headers', () => {
  const html = '<h1>hello</h1>'.repeat(50);
  const { tar } = buildReleaseTar({
    'index.html': { content: html, encodings: ['br', 'gzip'] },
    'logo.svg': '<svg/>',
  });
  const site = loadSite(tar);
  const index = site.files.get('index.html');
  assert.ok(index && index.br && index.gzip);
  const tag = sha256Hex(Buffer.from(html)).slice(0, 32);
  assert.equal(index.identity.etag, `"${tag}"`);
  assert.equal(index.br.etag, `"${tag}-br"`);
  assert.equal(index.gzip.etag, `"${tag}-gz"`);
  assert.ok(index.br.body && index.gzip.body);
  assert.equal(brotliDecompressSync(index.br.body).toString(), html);
  assert.equal(gunzipSync(index.gzip.body).toString(), html);
  assert.deepEqual(headerMap(index.gzip.headers), {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(index.gzip.body.length),
    etag: `"${tag}-gz"`,
    'cache-control': 'public, max-age=0, must-revalidate',
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
    'content-encoding': 'gzip',
  });
  // One representation only: nothing varies, so no Vary header.
  assert.equal(headerMap(site.files.get('logo.svg')?.identity.headers ?? [])['vary'], undefined);
  assert.equal(site.memoryBytes, html.length + index.br.body.length + index.gzip.body.length + '<svg/>'.length);
});

test('path index resolves directories and extensionless names, exact files first', () => {
  const site = loadSite(
    buildReleaseTar({
      'index.html': 'root',
      'about/index.html': 'about dir',
      'about.html': 'about file',
      'contact.html': 'contact',
      'docs/index.html': 'docs',
      docs: 'a file named docs',
    }).tar,
  );
  const at = (p: string) => site.paths.get(p)?.path;
  assert.equal(at('/'), 'index.html');
  assert.equal(at('/about/'), 'about/index.html');
  assert.equal(at('/about'), 'about/index.html');
  assert.equal(at('/contact'), 'contact.html');
  assert.equal(at('/docs'), 'docs');
  assert.equal(at('/docs/'), 'docs/index.html');
  assert.equal(at('/nope'), undefined);
});

test('refuses corrupt or inconsistent releases as a whole', () => {
  const base = () => releaseEntries({ 'index.html': { content: 'hi', encodings: ['gzip'] }, 'a.txt': 'a' });
  const mutate = (fn: (entries: TarInput[]) => TarInput[]) => writeTar(fn(base().entries));
  const withManifest = (edit: (m: Record<string, unknown>) => void) => {
    const { manifest, entries } = base();
    const m = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>;
    edit(m);
    entries[0] = { path: 'release.json', data: Buffer.from(JSON.stringify(m)) };
    return writeTar(entries);
  };
  const files = (m: Record<string, unknown>) => m.files as Array<Record<string, unknown>>;
  const cases: Record<string, Buffer> = {
    'manifest not first': mutate((e) => [...e.slice(1), e[0] as TarInput]),
    'listed file missing': mutate((e) => e.filter((x) => x.path !== 'files/a.txt')),
    'listed variant missing': mutate((e) => e.filter((x) => x.path !== 'gzip/index.html')),
    'stray entry': mutate((e) => [...e, { path: 'files/extra.txt', data: Buffer.from('x') }]),
    'bytes differ from sha': mutate((e) => e.map((x) => (x.path === 'files/a.txt' ? { ...x, data: Buffer.from('b') } : x))),
    'size differs': withManifest((m) => void (files(m)[0]!.size = 99)),
    'traversal path': withManifest((m) => void (files(m)[0]!.path = '../a.txt')),
    'header injection': withManifest((m) => void (files(m)[0]!.content_type = 'text/plain\r\nX-Evil: 1')),
    'unknown format': withManifest((m) => void (m.format = 2)),
    'not json': writeTar([{ path: 'release.json', data: Buffer.from('{') }]),
  };
  for (const [name, tar] of Object.entries(cases)) {
    assert.throws(() => loadSite(tar), (e) => isSlipwayError(e, 'invalid_archive'), name);
  }
});
