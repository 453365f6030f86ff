import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HASHED_OUTPUT, hasHashedName, hashedOutputOf, isImmutableAsset } from './hashed-assets.js';

/** Real output names of each framework's production build. */
const REAL_HASHED: Record<string, string[]> = {
  vite: [
    // Vite 5+ (Rollup 4: base64url, which may hold - and _), Vite 4 (hex)
    'assets/index-Bx8a9FyQ.js', 'assets/index-D-wr_gTd.css', 'assets/react-CHdo91hT.svg', 'assets/index-4d3a2f1b.js',
  ],
  remix: ['assets/entry.client-Bq2KXz9a.js', 'assets/root-C_fXk3Lp.css', 'assets/manifest-a1b2c3d4.js'],
  sveltekit: [
    '_app/immutable/entry/start.BIqAQ2H5.js', '_app/immutable/chunks/dzqr5x1a.js', '_app/immutable/assets/0.Cx1kQ2zY.css',
    // The whole folder is immutable, as SvelteKit's own server has it, names hashed or not.
    '_app/immutable/nodes/0.js',
  ],
  astro: ['_astro/index.DkU8Hj2f.css', '_astro/client.Cp2rMz_E.js', '_astro/hoisted.a1b2c3d4.js'],
  nuxt: ['_nuxt/BkMx1XYZ.js', '_nuxt/entry.B3cK9z1a.js', '_nuxt/entry.DkU8Hj2f.css'],
  nextjs: [
    '_next/static/chunks/framework-64ad27b21261a9ce.js', '_next/static/chunks/pages/_app-1534f180665c857f.js',
    '_next/static/css/8f2a1c3b4d5e6f70.css', '_next/static/media/font.a1b2c3d4.woff2',
    '_next/static/Xk2vz9Q_bUildId/_buildManifest.js',
  ],
  'create-react-app': [
    'static/js/main.3f2a1b9c.js', 'static/js/787.0b1e3f2a.chunk.js', 'static/css/main.0a1b2c3d.chunk.css',
    'static/media/logo.6ce24c58023cc2f8fd88.svg',
  ],
  docusaurus: ['assets/js/main.8a7b6c5d.js', 'assets/js/runtime~main.a1b2c3d4.js', 'assets/js/17896441.4fe2c0a1.js', 'assets/css/styles.9f8e7d6c.css'],
  gatsby: [
    'app-4f3c2d1e0a9b8c7d6e5f.js', 'webpack-runtime-1a2b3c4d5e6f7a8b9c0d.js',
    'component---src-pages-index-js-3f2a1b9c4d5e6f708192.js', 'styles.5d6e7f8a9b0c1d2e3f4a.css',
  ],
  angular: [
    // application builder (esbuild: base32), then the older browser builder (webpack: hex)
    'main-5NLDDDSD.js', 'polyfills-FFHMD2TL.js', 'chunk-ZN4XVNGT.js', 'styles-5INURTSO.css', 'media/roboto-X7Q2ZKMU.woff2',
    'main.3f2a1b9c4d5e6f70.js',
  ],
};

/** Names a person gives files: none may be pinned for a year, whatever built the site. */
const HAND_MADE = [
  // The review's counter-examples: camel-case words of 8 characters
  'assets/MainView.js', 'assets/HeroShot.jpg', '_nuxt/AboutUs1.css',
  'assets/logo.png', 'assets/favicon32.png', 'assets/my-component-v2.js', 'assets/icon-v12.svg',
  'assets/deadline.txt', 'assets/20241231.json', 'assets/index.html', 'index.html', 'favicon.ico', 'robots.txt',
  'main-OVERVIEW.js', '_nuxt/builds/latest.json', 'static/js/runtime.js', '_astro/logo.png', 'sw.js', 'page-data/app-data.json',
];

test('the real hashed output of each framework is immutable', () => {
  for (const [framework, paths] of Object.entries(REAL_HASHED)) {
    for (const path of paths) assert.ok(isImmutableAsset(path, hashedOutputOf(framework)), `${framework}: ${path}`);
  }
  assert.deepEqual(Object.keys(REAL_HASHED).sort(), Object.keys(HASHED_OUTPUT).sort(), 'every framework with hashed output is covered');
});

test('hand-made names are never immutable, under any framework', () => {
  for (const framework of [...Object.keys(HASHED_OUTPUT), 'static', 'as-is', 'hugo', undefined]) {
    for (const path of HAND_MADE) assert.ok(!isImmutableAsset(path, hashedOutputOf(framework)), `${framework}: ${path}`);
  }
});

/**
 * Shaped like Rollup's `[name]-[hash]` but readable: in a Vite build's `assets/` every file that
 * is not a copy of `public/` was emitted by Rollup, so these are taken for hashes there (the
 * packager leaves out the copies of public/), and nowhere else.
 */
const ROLLUP_SHAPED = ['assets/logo-DarkMode.svg', 'assets/logo-dark_v2x.svg', 'assets/index-DiwrgTda.js'];

test('in a Vite build, assets/<name>-<8 characters> is immutable even when the 8 are letters only; nowhere else', () => {
  for (const framework of ['vite', 'remix']) {
    for (const path of ROLLUP_SHAPED) assert.ok(isImmutableAsset(path, hashedOutputOf(framework)), `${framework}: ${path}`);
  }
  for (const framework of [...Object.keys(HASHED_OUTPUT).filter((f) => f !== 'vite' && f !== 'remix'), 'static', 'as-is', undefined]) {
    for (const path of ROLLUP_SHAPED.slice(0, 2)) assert.ok(!isImmutableAsset(path, hashedOutputOf(framework)), `${framework}: ${path}`);
  }
});

test('plain files, as_is and frameworks without hashed output get no immutable file at all', () => {
  const everyHashed = Object.values(REAL_HASHED).flat();
  for (const framework of ['static', 'as-is', 'hugo', 'jekyll', 'toString', undefined]) {
    for (const path of everyHashed) assert.ok(!isImmutableAsset(path, hashedOutputOf(framework)), `${framework}: ${path}`);
  }
});

test('a framework hashes only the folders it writes to', () => {
  const nextjs = hashedOutputOf('nextjs');
  assert.ok(!isImmutableAsset('assets/index-Bx8a9FyQ.js', nextjs), 'Next.js writes nothing to assets/');
  assert.ok(!isImmutableAsset('_next/static/chunks/index-Bx8a9FyQ.html', nextjs), 'pages never');
  assert.ok(!isImmutableAsset('_app/immutable/chunks/dzqr5x1a.js', hashedOutputOf('vite')), '_app/immutable/ is SvelteKit\'s');
  assert.ok(!isImmutableAsset('assets/index-Bx8a9FyQ.js', hashedOutputOf('angular')), "Angular's assets/ is copied from src/assets");
  assert.ok(!isImmutableAsset('js/main-4d3a2f1b.js', hashedOutputOf('gatsby')), 'Gatsby hashes scripts at the root only');
  assert.ok(!isImmutableAsset('index-Bx8a9FyQ.js', hashedOutputOf('vite')));
});

test('a hash is recognised only where and how a tool writes it', () => {
  assert.ok(hasHashedName('chunk-ABCdef12.js', 'rollup'));
  assert.ok(hasHashedName('index-DiwrgTda.js', 'rollup'), 'a Rollup hash may be letters only (about one in five)');
  assert.ok(!hasHashedName('index.DiwrgTda.js', 'rollup'), 'Vite writes [name]-[hash], with a dash');
  assert.ok(!hasHashedName('MyWidgetsAndMore.js', 'rollup'));
  assert.ok(!hasHashedName('a-b_c-d_e.js', 'rollup'), 'base64url punctuation alone is not a hash');
  assert.ok(!hasHashedName('AboutUs1.js', 'rollup'), 'Vite always writes [name]-[hash]');
  assert.ok(hasHashedName('AboutUs1.js', 'rollup-dotted'), "Nuxt's bare [hash].js chunks");
  assert.ok(!hasHashedName('README', 'webpack'), 'too short');
});
