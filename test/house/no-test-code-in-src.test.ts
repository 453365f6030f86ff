/**
 * Test code stays out of what ships: `src` holds production code and the unit tests beside it,
 * fakes, fixtures and shared suites live under test/support, and the build (tsconfig.build.json)
 * compiles none of them into dist. Each check names the offending file and where it belongs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const testDir = join(root, 'test') + sep;

/** Packages and builtins only tests have reason to load. */
const TEST_ONLY_MODULES = ['node:test', 'node:assert', 'assert', 'fast-check', 'playwright-core'];

const isTestFile = (path: string) => /\.test\.[cm]?[jt]s$/.test(path);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (/\.[cm]?ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Non-test files under src, the ones the build compiles. */
function productionFiles(): string[] {
  return sourceFiles(join(root, 'src')).filter((f) => !isTestFile(f));
}

/** Why importing `specifier` from `file` pulls test code into production, or undefined. */
function testImport(file: string, specifier: string): string | undefined {
  if (TEST_ONLY_MODULES.some((m) => specifier === m || specifier.startsWith(`${m}/`))) {
    return `imports ${specifier}, a test-only module`;
  }
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(file), specifier);
  if (target.startsWith(testDir)) return `imports ${specifier}, which is under test/`;
  if (isTestFile(target)) return `imports ${specifier}, a test file`;
  return undefined;
}

test('no production file under src imports test code, test-only packages or anything under test/', () => {
  const problems: string[] = [];
  for (const file of productionFiles()) {
    // preProcessFile finds static, type-only, re-export and dynamic imports without a full parse.
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const why = testImport(file, fileName);
      if (why !== undefined) problems.push(`${relative(root, file)} ${why}`);
    }
  }
  assert.deepEqual(problems, [], 'move test support to test/support/ and import it only from tests:\n' + problems.join('\n'));
});

test('no file under src is named or placed as test support', () => {
  // The names test support has had in src: fixtures, fakes, shared suites, testing/ folders.
  const looksLikeSupport = (path: string) =>
    /(fixture|^fake-|^test-helpers|\.conformance\.ts$)/.test(basename(path)) ||
    path.split(sep).includes('testing');
  const misplaced = productionFiles()
    .map((f) => relative(root, f))
    .filter(looksLikeSupport);
  assert.deepEqual(misplaced, [], 'move these to test/support/:\n' + misplaced.join('\n'));
});

test('the build program (tsconfig.build.json) holds no test file and nothing under test/', () => {
  const configPath = join(root, 'tsconfig.build.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  });
  assert.ok(config, 'tsconfig.build.json could not be read');
  // The same list `tsc -p tsconfig.build.json --listFilesOnly` prints: the roots plus every file they import.
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const shipped = program
    .getSourceFiles()
    .map((s) => resolve(s.fileName))
    .filter((f) => !f.split(sep).includes('node_modules'));
  assert.ok(shipped.some((f) => f.endsWith(join('src', 'main.ts'))), 'the build program should hold src/main.ts');
  const testCode = shipped.filter((f) => isTestFile(f) || f.startsWith(testDir)).map((f) => relative(root, f));
  assert.deepEqual(testCode, [], 'the build would compile test code into dist:\n' + testCode.join('\n'));
});
