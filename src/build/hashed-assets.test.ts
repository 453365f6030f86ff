import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasHashedName, isImmutableAsset } from './hashed-assets.js';

test('hashed output of each known framework is immutable', () => {
  for (const path of [
    // Vite (hashes are base64url and may hold - and _) and Docusaurus
    'assets/index-DiwrgTda.js', 'assets/index-D-wr_gTd.css', 'assets/logo-BXz1k2Yw.svg', 'assets/index-4d3a2f1b.js',
    'assets/js/main.8a7b6c5d.js',
    // Next.js
    '_next/static/chunks/framework-64ad27b21261a9ce.js', '_next/static/chunks/pages/_app-1534f180665c857f.js',
    '_next/static/css/8f2a1c3b4d5e6f70.css', '_next/static/media/font.a1b2c3d4.woff2',
    // Folders the frameworks' own servers serve as immutable whatever the name
    '_next/static/Xk2vz9Q_bUildId/_buildManifest.js', '_app/immutable/chunks/dzqr5x1a.js',
    // Astro, SvelteKit, Nuxt
    '_astro/index.DkU8Hj2f.css', '_app/immutable/entry/start.BIqAQ2H5.js', '_nuxt/BkMx1XYZ.js', '_nuxt/entry.B3cK9z1a.js',
    // Create React App
    'static/js/main.3f2a1b9c.js', 'static/css/main.0a1b2c3d.chunk.css', 'static/media/logo.6ce24c58023cc2f8fd88fe9d3f5a1f3e.svg',
  ]) assert.ok(isImmutableAsset(path), path);
});

test('plain files, pages and hashed names outside known folders keep revalidating', () => {
  for (const path of [
    'assets/logo.png', 'assets/favicon32.png', 'assets/my-component-v2.js', 'assets/icon-v12.svg', 'assets/deadline.txt',
    'assets/20241231.json', 'assets/index.html', '_next/static/chunks/index-DiwrgTda.html',
    'index-DiwrgTda.js', 'js/main.3f2a1b9c.js', 'favicon.ico', 'index.html', 'myassets/index-DiwrgTda.js',
    'static/js/runtime.js', '_astro/logo.png', '_nuxt/builds/latest.json',
  ]) assert.ok(!isImmutableAsset(path), path);
});

test('a hash is recognised only where tools put it in a name', () => {
  assert.ok(hasHashedName('chunk-ABCdef12.js'));
  assert.ok(!hasHashedName('background.png'), 'a lower-case word is not a hash');
  assert.ok(!hasHashedName('README'), 'too short');
  assert.ok(!hasHashedName('MyWidgetsAndMore.js'), 'past 8 characters only hex counts');
  assert.ok(!hasHashedName('a-b_c-d_e.js'), 'base64url punctuation alone is not a hash');
});
