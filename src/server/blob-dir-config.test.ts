import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './config.js';

const base = { SLIPWAY_HOME: '/tmp/slipway-blob-dir-test' };

test('blobs live in the home unless SLIPWAY_BLOB_DIR names a folder that servers with their own homes can share', () => {
  assert.equal(loadConfig(base).blobDir, '/tmp/slipway-blob-dir-test/blobs');
  assert.equal(loadConfig({ ...base, SLIPWAY_BLOB_DIR: '/srv/shared/blobs' }).blobDir, '/srv/shared/blobs');
  assert.equal(loadConfig({ ...base, SLIPWAY_BLOB_DIR: 'relative/blobs' }).blobDir, resolve('relative/blobs'));
});
