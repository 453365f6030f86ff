import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError, type SlipwayError } from '../../core/errors.js';
import { checkLinkTarget, compareBytes, normalizeEntryPath } from './entry-path.js';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isSlipwayError(err, 'unsafe_archive'));
    return String((err as SlipwayError).details.reason);
  }
  assert.fail('expected unsafe_archive');
}

test('harmless spellings are tidied', () => {
  assert.equal(normalizeEntryPath('./a//b/./c/'), 'a/b/c');
  assert.equal(normalizeEntryPath('././'), '');
  assert.equal(normalizeEntryPath('dir.with..dots/..hidden'), 'dir.with..dots/..hidden');
  assert.equal(normalizeEntryPath('ünïcode/файл'), 'ünïcode/файл');
});

test('dangerous spellings are refused, not rewritten', () => {
  assert.equal(reason(() => normalizeEntryPath('/abs')), 'absolute path');
  assert.equal(reason(() => normalizeEntryPath('a/../b')), "'..' in path");
  assert.equal(reason(() => normalizeEntryPath('..')), "'..' in path");
  assert.equal(reason(() => normalizeEntryPath('a\0../../b')), 'control character in path');
  assert.equal(reason(() => normalizeEntryPath('a\\b')), 'backslash in path');
  // A decoder's stand-in for bytes that are not UTF-8, however the name got past the raw check.
  assert.equal(reason(() => normalizeEntryPath('caf\uFFFD.txt')), 'name is not valid UTF-8');
  assert.equal(reason(() => checkLinkTarget('link', 'caf\uFFFD')), 'symlink target is not valid UTF-8');
  assert.equal(reason(() => normalizeEntryPath('c:evil')), 'drive letter in path');
  assert.equal(reason(() => normalizeEntryPath('x'.repeat(256))), 'name too long');
  assert.equal(reason(() => normalizeEntryPath(Array(500).fill('abcdefghi').join('/'))), 'path too long');
});

test('symlink targets must stay under the root, counted from the link', () => {
  checkLinkTarget('a/b/link', '../../top');
  checkLinkTarget('link', 'sub/../file');
  assert.equal(reason(() => checkLinkTarget('a/link', '../../x')), 'symlink target outside the archive');
  assert.equal(reason(() => checkLinkTarget('link', '../root/x')), 'symlink target outside the archive');
  assert.equal(reason(() => checkLinkTarget('link', '/etc')), 'absolute symlink target');
  assert.equal(reason(() => checkLinkTarget('link', '')), 'empty symlink target');
  assert.equal(reason(() => checkLinkTarget('link', 'a\\..\\..')), 'backslash in symlink target');
});

test('byte order puts uppercase first and non-ASCII last', () => {
  const sorted = ['b', 'é', 'B', 'a/b', 'a', '\u{1F600}', '\uFFFD'].sort(compareBytes);
  assert.deepEqual(sorted, ['B', 'a', 'a/b', 'b', 'é', '\uFFFD', '\u{1F600}']);
});
