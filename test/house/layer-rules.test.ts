/**
 * The layer rules of docs/architecture.md §5 are enforced by eslint.config.js: each case puts a
 * small source at a path in one layer and lints it with the project's own config, so a rule
 * that stops firing (a glob that no longer matches, a regex that misses a depth) fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The probes are not files on disk, so the type-aware rules (which need the TypeScript project)
// are off for them; every other rule, the layer rules included, comes from eslint.config.js.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

const LAYER_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

/** The layer-rule messages ESLint gives `code` placed at `path` (relative to the repository). */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  assert.ok(result, `no lint result for ${path}`);
  const fatal = result.messages.find((m) => m.fatal);
  assert.equal(fatal, undefined, `${path} did not parse: ${fatal?.message}`);
  return result.messages.filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId)).map((m) => m.message);
}

async function assertRefused(path: string, code: string, why: RegExp): Promise<void> {
  const errors = await layerErrors(path, code);
  assert.equal(errors.length, 1, `${path} should be refused once: ${code}\ngot: ${errors.join('\n')}`);
  assert.match(errors[0]!, why);
  assert.match(errors[0]!, /docs\/architecture\.md §5/);
}

async function assertAllowed(path: string, code: string): Promise<void> {
  assert.deepEqual(await layerErrors(path, code), [], `${path} should be allowed: ${code}`);
}

const use = (spec: string) => `import { thing } from '${spec}';\nexport const used = thing;\n`;
const useType = (spec: string) => `import type { Thing } from '${spec}';\nexport type Used = Thing;\n`;

test('the edge and the agent never import the store or the services, at any depth', async () => {
  for (const layer of ['edge', 'agent']) {
    await assertRefused(`src/${layer}/probe.ts`, use('../store/store.js'), /may not import this layer/);
    await assertRefused(`src/${layer}/probe.ts`, useType('../store/schema.js'), /may not import this layer/);
    await assertRefused(`src/${layer}/probe.ts`, use('../services/notifier.js'), /may not import this layer/);
    await assertRefused(`src/${layer}/inner/probe.ts`, use('../../services/route-feed.js'), /may not import this layer/);
    await assertRefused(`src/${layer}/probe.ts`, `export { thing } from '../store/store.js';\n`, /may not import this layer/);
    await assertAllowed(`src/${layer}/probe.ts`, use('../core/errors.js'));
    await assertAllowed(`src/${layer}/inner/probe.ts`, use('../store-like.js'));
  }
});

test('the API reaches data only through services: no store import, not even a type, and no ctx.store', async () => {
  await assertRefused('src/api/probe.ts', useType('../store/store.js'), /API reaches data only through services/);
  await assertRefused('src/api/routes/probe.ts', use('../../store/schema.js'), /API reaches data only through services/);
  await assertAllowed('src/api/routes/probe.ts', use('../../services/services.js'));
  const viaServices = 'declare const services: { ctx: { store: { db: unknown } } };\nexport const db = services.ctx.store.db;\n';
  await assertRefused('src/api/routes/probe.ts', viaServices, /not ctx\.store/);
  const viaCtx = 'declare const services: { ctx: { store: { db: unknown } } };\nconst { ctx } = services;\nexport const db = ctx.store.db;\n';
  await assertRefused('src/api/probe.ts', viaCtx, /not ctx\.store/);
});

test('the API reaches blobs only through services, and may not destructure the store or the blobs out of ctx', async () => {
  const ctxType = 'declare const services: { ctx: { store: { db: unknown }; blobs: { stat(): unknown }; config: { x: number } } };\n';
  await assertRefused('src/api/routes/probe.ts', `${ctxType}export const info = services.ctx.blobs.stat();\n`, /not ctx\.store or ctx\.blobs/);
  await assertRefused('src/api/probe.ts', `${ctxType}const { ctx } = services;\nexport const info = ctx.blobs.stat();\n`, /not ctx\.store or ctx\.blobs/);
  await assertRefused('src/api/routes/probe.ts', `${ctxType}const { store } = services.ctx;\nexport const db = store.db;\n`, /not ctx\.store or ctx\.blobs/);
  await assertRefused('src/api/routes/probe.ts', `${ctxType}const { blobs: b } = services.ctx;\nexport const info = b.stat();\n`, /not ctx\.store or ctx\.blobs/);
  await assertRefused('src/api/probe.ts', `${ctxType}const { ctx } = services;\nconst { blobs } = ctx;\nexport const info = blobs.stat();\n`, /not ctx\.store or ctx\.blobs/);
  await assertRefused('src/api/probe.ts', `${ctxType}const { ctx: { store } } = services;\nexport const db = store.db;\n`, /not ctx\.store or ctx\.blobs/);
  // The context's settings and logger stay readable: only the data stores are out of reach.
  await assertAllowed('src/api/routes/probe.ts', `${ctxType}const { config } = services.ctx;\nexport const x = config.x + services.ctx.config.x;\n`);
  await assertAllowed('src/api/routes/probe.test.ts', `${ctxType}export const info = services.ctx.blobs.stat();\n`);
});

test('the CLI imports only the SDK, core and util (and the three modules doctor reads)', async () => {
  await assertRefused('src/cli/probe.ts', use('../server/server-process.js'), /may import only sdk\/, core\/, util\//);
  await assertRefused('src/cli/commands/probe.ts', use('../../runtime/local/local-driver.js'), /may import only/);
  await assertRefused('src/cli/commands/probe.ts', use('../../services/services.js'), /may import only/);
  await assertRefused('src/cli/commands/probe.ts', use('../../api/app.js'), /may import only/);
  await assertAllowed('src/cli/probe.ts', use('../sdk/index.js'));
  await assertAllowed('src/cli/commands/probe.ts', use('../../core/errors.js'));
  await assertAllowed('src/cli/commands/probe.ts', use('../format.js'));
  await assertAllowed('src/cli/commands/probe.ts', use('commander'));
  await assertAllowed('src/cli/commands/probe.ts', use('../../server/config.js'));
});

test('no layer imports from outside src/', async () => {
  const errors = await layerErrors('src/edge/probe.ts', use('../../test/support/platform.js'));
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /outside src\//);
  await assertRefused('src/cli/probe.ts', use('../../test/support/platform.js'), /outside src\//);
});

test('tests may import anything', async () => {
  await assertAllowed('src/edge/probe.test.ts', use('../store/store.js'));
  await assertAllowed('src/api/routes/probe.test.ts', use('../../store/schema.js'));
  await assertAllowed('src/cli/probe.test.ts', use('../../test/support/platform.js'));
});

test('the promise rules eslint.config.js claims are on for the code that ships, type-aware', async () => {
  const plain = new ESLint({ cwd: root });
  const severity = (rule: unknown) => (Array.isArray(rule) ? rule[0] : rule);
  for (const file of ['src/services/reconciler.ts', 'src/edge/edge-server.ts', 'src/server/up.ts']) {
    const config = (await plain.calculateConfigForFile(join(root, file))) as { rules: Record<string, unknown>; languageOptions: { parserOptions: { projectService?: unknown } } };
    for (const rule of ['@typescript-eslint/no-floating-promises', '@typescript-eslint/no-misused-promises', 'max-params']) {
      assert.ok([2, 'error'].includes(severity(config.rules[rule]) as number | string), `${rule} is not an error for ${file}`);
    }
    assert.equal(config.languageOptions.parserOptions.projectService, true, `${file} is not linted type-aware`);
  }
});
