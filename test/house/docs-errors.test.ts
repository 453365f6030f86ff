/**
 * docs/api.md's error table names every error code with the HTTP status the API answers it
 * with, and no code the code lacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HTTP_STATUS } from '../../src/api/http-status.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { repoRoot } from './repo-files.js';

/** The rows of the table under `## Errors`: each code in the first cell with the row's status cell. */
function errorTable(doc: string): Map<string, string> {
  const section = doc.split(/^## Errors\s*$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length < 3 || cells[0] === 'code' || /^-+$/.test(cells[0]!)) continue;
    for (const [, code] of cells[0]!.matchAll(/`([a-z_]+)`/g)) rows.set(code!, cells[1]!);
  }
  return rows;
}

test("docs/api.md's error table has every error code, with the status http-status.ts gives it", async () => {
  const table = errorTable(await readFile(join(repoRoot, 'docs/api.md'), 'utf8'));
  assert.ok(table.size > 10, `found only ${table.size} codes under "## Errors" in docs/api.md: the table moved or changed shape`);

  const missing = ERROR_CODES.filter((c) => !table.has(c)).map((c) => `\`${c}\` | ${HTTP_STATUS[c]} | (when it happens)`);
  assert.deepEqual(missing, [], `add rows to the table under "## Errors" in docs/api.md:\n  ${missing.join('\n  ')}`);
  const wrong = ERROR_CODES.filter((c) => table.get(c) !== String(HTTP_STATUS[c]))
    .map((c) => `${c}: the doc says "${table.get(c)}", src/api/http-status.ts says ${HTTP_STATUS[c]}`);
  assert.deepEqual(wrong, [], `fix the status column in docs/api.md's error table (or the map in src/api/http-status.ts):\n  ${wrong.join('\n  ')}`);
  const unknown = [...table.keys()].filter((c) => !(ERROR_CODES as readonly string[]).includes(c));
  assert.deepEqual(unknown, [], `docs/api.md's error table names codes that src/core/errors.ts lacks; remove the rows:\n  ${unknown.join('\n  ')}`);
});
