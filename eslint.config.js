// Lint rules that guard the house style: the layer rules of docs/architecture.md §5, no floating
// or misused promises in src (type-aware, only for the code that ships), at most three
// positional parameters, no unused code.
import tseslint from 'typescript-eslint';

/** Tests may import anything: they wire real parts together to prove them. Fakes live in test/support. */
const TEST_FILES = ['**/*.test.ts'];

/** Deepest folder nesting checked under a layer (`src/<layer>/a/b/x.ts` is depth 3); src goes to 2. */
const MAX_DEPTH = 6;

/**
 * The layer rules (docs/architecture.md §5), one entry per layer folder under src/. `forbid`
 * lists the layers it may not import; `allow` instead lists the only layers it may import.
 * Packages from node_modules and `node:` builtins are not restricted here.
 */
const LAYERS = [
  { layer: 'edge', forbid: ['store', 'services'], why: 'the edge learns state from the server over HTTP and never holds database credentials' },
  { layer: 'agent', forbid: ['store', 'services'], why: 'the agent learns its work from the server over HTTP and never holds database credentials' },
  { layer: 'api', forbid: ['store'], why: 'the API reaches data only through services' },
  {
    layer: 'cli',
    // The user CLI talks to a server through the SDK only. `slipway up/server/edge/agent` are
    // registered by src/main.ts from src/server/process-commands.ts, so the CLI never starts
    // them. The three modules named here are `slipway doctor`'s, which inspects this host with
    // no server: it must read the settings `up` reads and probe the host as the agent and the
    // Docker engine do. They are read-only; no other server, runtime or driver module is allowed.
    allow: ['sdk/', 'core/', 'util/', 'server/config.js', 'runtime/local/host-report.js', 'runtime/docker/engine.js'],
    why: 'the CLI reaches Slipway only through the SDK',
  },
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Relative specifiers are matched textually, so each depth gets its own block: from
 * `src/<layer>/x.ts` the folder `src/store` is `../store/…`; from `src/<layer>/a/x.ts` it is
 * `../../store/…`. Climbing further than src/ (into test/, say) is refused for every layer.
 */
function layerBlocks({ layer, forbid, allow, why }) {
  const blocks = [];
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const up = `(?:\\.\\./){${depth}}`;
    const target = forbid
      ? `(?:${forbid.map(escape).join('|')})(?:/|\\.js$|$)`
      // A folder entry ends in `/` and allows everything under it; a file entry allows that file.
      // Climbing out of src/ is left to the second pattern, so it is reported once.
      : `(?!${allow.map((a) => (a.endsWith('/') ? escape(a) : `${escape(a)}$`)).join('|')}|\\.\\./)`;
    blocks.push({
      files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
      ignores: TEST_FILES,
      rules: {
        'no-restricted-imports': ['error', {
          patterns: [
            { regex: `^${up}${target}`, message: `src/${layer} may ${forbid ? 'not import this layer' : `import only ${allow.join(', ')} from src/`}: ${why} (docs/architecture.md §5).` },
            { regex: `^${up}\\.\\./`, message: `src/${layer} may not import from outside src/ (docs/architecture.md §5).` },
          ],
        }],
        ...(layer === 'api' ? { 'no-restricted-syntax': ['error', ...RAW_STORE_ACCESS] } : {}),
      },
    });
  }
  return blocks;
}

/**
 * The API holds the services, whose context has the store and the blob store: reaching through
 * it (`services.ctx.blobs`, `const { store } = services.ctx`, `const { ctx: { blobs } } = services`)
 * is the same violation as importing them.
 */
const DATA = "/^(store|blobs)$/";
const RAW_STORE_ACCESS = [
  `MemberExpression[property.name=${DATA}][object.name='ctx']`,
  `MemberExpression[property.name=${DATA}][object.property.name='ctx']`,
  `VariableDeclarator[init.name='ctx'] > ObjectPattern > Property[key.name=${DATA}]`,
  `VariableDeclarator[init.property.name='ctx'] > ObjectPattern > Property[key.name=${DATA}]`,
  `Property[key.name='ctx'] > ObjectPattern > Property[key.name=${DATA}]`,
].map((selector) => ({ selector, message: 'the API reaches data only through services, not ctx.store or ctx.blobs (docs/architecture.md §5).' }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      'max-params': ['error', 3],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Type-aware, so only where a dropped promise costs most: the code that ships. A promise
    // nobody awaits loses its rejection (an unhandled rejection ends the process); one passed
    // where a callback's result is ignored (an event handler) does the same.
    files: ['src/**/*.ts'],
    ignores: TEST_FILES,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  ...LAYERS.flatMap(layerBlocks),
);
