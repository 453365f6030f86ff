import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIncludeMatcher, leftOutReason } from './release-filter.js';

test('files a project keeps beside its pages are left out, each with its rule', () => {
  const cases: Array<[string, string]> = [
    ['package.json', 'package manifest or lockfile'],
    ['package-lock.json', 'package manifest or lockfile'],
    ['npm-shrinkwrap.json', 'package manifest or lockfile'],
    ['yarn.lock', 'package manifest or lockfile'],
    ['pnpm-lock.yaml', 'package manifest or lockfile'],
    ['bun.lock', 'package manifest or lockfile'],
    ['bun.lockb', 'package manifest or lockfile'],
    ['sub/package.json', 'package manifest or lockfile'],
    ['.env', 'dotfile'],
    ['.env.production.local', 'dotfile'],
    ['.htaccess', 'dotfile'],
    ['docs/.DS_Store', 'dotfile'],
    ['.git/config', 'dot-folder'],
    ['.vscode/settings.json', 'dot-folder'],
    ['a/.cache/x.js', 'dot-folder'],
    ['node_modules/left-pad/index.js', 'dependencies'],
    ['vendor/node_modules/x/y.css', 'dependencies'],
    ['assets/index-DiwrgTda.js.map', 'source map'],
    ['app.css.map', 'source map'],
  ];
  for (const [path, reason] of cases) assert.equal(leftOutReason(path), reason, path);
});

test('pages, assets and well-known URIs are served', () => {
  for (const path of [
    'index.html', 'assets/index-DiwrgTda.js', '.well-known/security.txt', '.well-known/acme-challenge/token',
    'package.html', 'sitemap.xml', 'img/map.png', 'envelope.svg', 'node_modules.txt', 'docs/package.json.html',
  ]) assert.equal(leftOutReason(path), null, path);
});

test('a dotfile inside .well-known/ is still left out: only the folder is exempt', () => {
  assert.equal(leftOutReason('.well-known/.env'), 'dotfile');
});

test('include globs: names at any depth without a slash, whole paths with one', () => {
  const included = createIncludeMatcher(['*.map', '.nojekyll', 'config/**/*.json', './static/.htaccess']);
  assert.ok(included('app.js.map'));
  assert.ok(included('assets/deep/app.js.map'));
  assert.ok(included('.nojekyll'));
  assert.ok(included('sub/.nojekyll'));
  assert.ok(included('config/package.json'), '**/ matches zero folders');
  assert.ok(included('config/a/b/package.json'));
  assert.ok(included('static/.htaccess'), 'a leading ./ is ignored');
  assert.ok(!included('package.json'));
  assert.ok(!included('other/config/package.json'), 'a pattern with a slash is anchored at the root');
  assert.ok(!included('app.map.js'));
  assert.ok(!included('.htaccess'));
});

test('include globs are literal apart from * ? and **', () => {
  const included = createIncludeMatcher(['a+b(1).map', 'file?.txt']);
  assert.ok(included('a+b(1).map'));
  assert.ok(!included('aab(1).map'));
  assert.ok(included('file1.txt'));
  assert.ok(!included('file/1.txt'));
  assert.equal(createIncludeMatcher([])('anything'), false);
});
