/**
 * docs/configuration.md lists every `SLIPWAY_*` setting the code reads, and nothing else.
 * Scans the shipped code (src/ without tests and test-only folders) and scripts/*.mjs as text;
 * no platform starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blankStrings, listFiles, repoRoot, stripComments } from './repo-files.js';

const NAME = /SLIPWAY_[A-Z0-9][A-Z0-9_]*/g;

/**
 * Variables of the project's own test tooling (`npm test`, `npm run fuzz`, `npm run test:vm`),
 * described where those scripts are; they configure no part of Slipway.
 */
const TOOLING_PREFIXES = ['SLIPWAY_TEST_', 'SLIPWAY_FUZZ_', 'SLIPWAY_VM_'];

/** Where each name occurs, split by how the code uses it. */
interface Uses {
  /** Read from an environment: `env.NAME`, `env['NAME']`, or passed by name (`int(env, 'NAME')`). */
  read: Map<string, string[]>;
  /** Set as an object key `NAME:` (an environment for a child process: an app's, or Slipway's own). */
  given: Map<string, string[]>;
}

function add(map: Map<string, string[]>, name: string, where: string): void {
  const list = map.get(name) ?? [];
  if (!list.includes(where)) list.push(where);
  map.set(name, list);
}

async function scanCode(): Promise<Uses> {
  const files = [
    ...(await listFiles('src', (p) => p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.includes('/testing/'))),
    ...(await listFiles('scripts', (p) => p.endsWith('.mjs'), { recursive: false })),
  ];
  const uses: Uses = { read: new Map(), given: new Map() };
  for (const file of files) {
    const code = stripComments(await readFile(join(repoRoot, file), 'utf8'));
    for (const m of code.matchAll(NAME)) {
      const before = code.slice(Math.max(0, m.index - 2), m.index);
      const after = code[m.index + m[0].length] ?? '';
      const quote = before.at(-1);
      if (before.endsWith('.') || ((quote === "'" || quote === '"' || quote === '`') && after === quote)) add(uses.read, m[0], file);
    }
    // Keys only outside strings: a message such as `NAME: deleted 3 secrets` sets nothing.
    for (const m of blankStrings(code).matchAll(new RegExp(`${NAME.source}(?=\\s*:)`, 'g'))) add(uses.given, m[0], file);
  }
  return uses;
}

const isTooling = (name: string) => TOOLING_PREFIXES.some((p) => name.startsWith(p));

test('every SLIPWAY_* variable the code reads is in docs/configuration.md, and every one there is read', async () => {
  const [uses, doc] = await Promise.all([scanCode(), readFile(join(repoRoot, 'docs/configuration.md'), 'utf8')]);
  const documented = new Set(doc.match(NAME) ?? []);
  const settings = [...uses.read.keys()].filter((n) => !isTooling(n));
  assert.ok(settings.length > 20, `the scan found only ${settings.length} variables: it is broken, not the docs`);

  const undocumented = settings.filter((n) => !documented.has(n)).map((n) => `${n} (read in ${uses.read.get(n)!.join(', ')})`);
  assert.deepEqual(undocumented, [], `add these to the table in docs/configuration.md (default and what it sets):\n  ${undocumented.join('\n  ')}`);
  const unread = [...documented].filter((n) => !uses.read.has(n)).sort();
  assert.deepEqual(unread, [], `docs/configuration.md documents variables no code reads; remove them or read them:\n  ${unread.join('\n  ')}`);
});

test('test tooling variables stay out of the shipped code', async () => {
  const uses = await scanCode();
  const leaked = [...uses.read].filter(([n]) => isTooling(n)).flatMap(([n, files]) => files.filter((f) => f.startsWith('src/')).map((f) => `${n} in ${f}`));
  assert.deepEqual(leaked, [], `a ${TOOLING_PREFIXES.join('/')} name read by src/ would escape the configuration check; rename it and document it in docs/configuration.md:\n  ${leaked.join('\n  ')}`);
});

// A name set for a child but read by no code is for the app (SLIPWAY_SLUG); names Slipway
// passes to its own processes (SLIPWAY_HOME) are read, and checked above instead.
test('every SLIPWAY_* variable Slipway gives its apps is in docs/apps.md', async () => {
  const [uses, doc] = await Promise.all([scanCode(), readFile(join(repoRoot, 'docs/apps.md'), 'utf8')]);
  const forApps = [...uses.given].filter(([n]) => !uses.read.has(n));
  assert.ok(forApps.length >= 5, `the scan found only ${forApps.length} variables given to apps: it is broken, not the docs`);
  const documented = new Set(doc.match(NAME) ?? []);
  const missing = forApps.filter(([n]) => !documented.has(n)).map(([n, files]) => `${n} (set in ${files.join(', ')})`);
  assert.deepEqual(missing, [], `add these to the list of variables every instance gets in docs/apps.md:\n  ${missing.join('\n  ')}`);
});
