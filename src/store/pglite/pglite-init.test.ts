import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { withTempDir } from '../../util/temp-dir.js';
import { needsInitdb } from './pglite-init.js';
import { openPgliteStore } from './pglite-store.js';

const MiB = 1024 * 1024;

test('a new database is made in a child process: the opening process keeps only its small running memory', async () => {
  await withTempDir(async (home) => {
    const dataDir = join(home, 'db');
    // As the server's home preparation leaves it: an empty folder. Beside it, what a crash
    // during an earlier first start left behind.
    await mkdir(dataDir);
    await mkdir(join(home, '.db.initdb', 'base'), { recursive: true });
    await writeFile(join(home, '.db.initdb', 'PG_VERSION'), 'half made');
    const store = await openPgliteStore({ dataDir });
    try {
      // initdb in this process would take it past ~750 MB resident (PGlite's WebAssembly
      // memory grows to ~600 MB); opening a made database with the store's settings stays near
      // 300 MB. The peak, so a garbage collection cannot hide it; the bound sits halfway, far
      // from both, so tsx's own compile or a runner change cannot flip it.
      const peak = process.resourceUsage().maxRSS * 1024;
      assert.ok(peak < 650 * MiB, `peak RSS ${Math.round(peak / MiB)} MiB after a first open`);
      const shown = (await store.db.execute(sql`show shared_buffers`)) as unknown as { rows: Array<{ shared_buffers: string }> };
      assert.equal(shown.rows[0]?.shared_buffers, '32MB');
      await store.exec('create table t (n int); insert into t values (1)');
    } finally {
      await store.close();
    }
    assert.ok(existsSync(join(dataDir, 'PG_VERSION')));
    assert.equal(existsSync(join(home, '.db.initdb')), false, 'the staging folder is gone');
    // Opened again, the same database (nothing was made anew).
    const again = await openPgliteStore({ dataDir });
    try {
      const rows = (await again.db.execute(sql`select n from t`)) as unknown as { rows: Array<{ n: number }> };
      assert.deepEqual(rows.rows, [{ n: 1 }]);
    } finally {
      await again.close();
    }
  });
});

test('only a missing or empty folder needs a new database; one with files is never replaced', async () => {
  await withTempDir(async (home) => {
    assert.equal(await needsInitdb(join(home, 'missing')), true);
    await mkdir(join(home, 'empty'));
    assert.equal(await needsInitdb(join(home, 'empty')), true);
    await mkdir(join(home, 'used'));
    await writeFile(join(home, 'used', 'anything'), '');
    assert.equal(await needsInitdb(join(home, 'used')), false);
  });
});
