import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError } from '../core/errors.js';
import { buildFileRelease } from '../../test/support/edge/file-release.js';
import { parseFileReleaseManifest } from './file-release-manifest.js';

const good = buildFileRelease({
  'index.html': { content: '<h1>hi</h1>'.repeat(50), encodings: ['br', 'gzip'] },
  'assets/app.3f2a.js': { content: 'x()', immutable: true },
});

/** The good manifest as a plain object, changed by `edit`, as bytes. */
function tampered(edit: (m: { format: unknown; kind: unknown; files: Array<Record<string, unknown>> }) => void): Buffer {
  const m = JSON.parse(good.bytes.toString()) as { format: unknown; kind: unknown; files: Array<Record<string, unknown>> };
  edit(m);
  return Buffer.from(JSON.stringify(m));
}

test('a canonical manifest parses back to itself', () => {
  assert.deepEqual(parseFileReleaseManifest(good.bytes), good.manifest);
});

test('refuses every malformed or hostile manifest with invalid_archive', () => {
  const sha = 'a'.repeat(64);
  const cases: Array<[string, Buffer]> = [
    ['not JSON', Buffer.from('{"format":2,')],
    ['an array', Buffer.from('[]')],
    ['format 1', tampered((m) => { m.format = 1; })],
    ['a dynamic release', tampered((m) => { m.kind = 'dynamic'; })],
    ['files not a list', tampered((m) => { m.files = {} as never; })],
    ['a parent path', tampered((m) => { (m.files[0] as Record<string, unknown>).path = '../etc/passwd'; })],
    ['an absolute path', tampered((m) => { (m.files[0] as Record<string, unknown>).path = '/index.html'; })],
    ['a backslash', tampered((m) => { (m.files[0] as Record<string, unknown>).path = 'a\\b'; })],
    ['a duplicate path', tampered((m) => { m.files.push({ ...m.files[0] }); })],
    ['an upper-case sha', tampered((m) => { (m.files[0] as Record<string, unknown>).sha256 = 'A'.repeat(64); })],
    ['a short sha', tampered((m) => { (m.files[0] as Record<string, unknown>).sha256 = 'abc'; })],
    ['a negative size', tampered((m) => { (m.files[0] as Record<string, unknown>).size = -1; })],
    ['a fractional size', tampered((m) => { (m.files[0] as Record<string, unknown>).size = 1.5; })],
    ['a header-splitting type', tampered((m) => { (m.files[0] as Record<string, unknown>).content_type = 'text/html\r\nSet-Cookie: x=1'; })],
    ['an unknown encoding', tampered((m) => { (m.files[0] as Record<string, unknown>).variants = { zstd: { sha256: sha, size: 1 } }; })],
    ['a variant without a size', tampered((m) => { (m.files[0] as Record<string, unknown>).variants = { br: { sha256: sha } }; })],
    ['variants as a list', tampered((m) => { (m.files[0] as Record<string, unknown>).variants = []; })],
    ['one blob, two sizes', tampered((m) => {
      const [a, b] = m.files as [Record<string, unknown>, Record<string, unknown>];
      b.sha256 = a.sha256;
      b.size = (a.size as number) + 1;
    })],
    ['immutable not true', tampered((m) => { (m.files[0] as Record<string, unknown>).immutable = 'yes'; })],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => parseFileReleaseManifest(bytes), (e) => isSlipwayError(e, 'invalid_archive'), name);
  }
});
