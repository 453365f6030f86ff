// Detection through the API: POST /api/v1/detect answers the plan without storing anything, a
// source that needs a build is refused with build_required, and as_is publishes it as it is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSlipwayApiError, packDirectory } from '../../src/sdk/index.js';
import { startPlatform, type Platform } from '../support/platform.js';
import { waitFor } from '../../src/util/wait-for.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
});
after(async () => platform?.stop());

const viteApp = {
  'package.json': JSON.stringify({ scripts: { build: 'vite build' }, devDependencies: { vite: '^6.0.0' } }),
  'package-lock.json': '{}',
  'index.html': '<script type="module" src="/src/main.ts"></script>',
  'src/main.ts': 'console.log(1)',
};

test('a file map is detected with its reasons; nothing is stored', async () => {
  const before = (await platform.client.listDeployments()).data.length;
  const plan = await platform.client.detect({ files: viteApp });
  assert.equal(plan.kind, 'static');
  assert.equal(plan.detected, 'vite');
  assert.equal(plan.build_command, 'npm run build');
  assert.equal(plan.output_path, 'dist');
  assert.deepEqual(plan.install, [['npm', 'ci', '--no-audit', '--no-fund', '--include=dev']]);
  assert.ok(plan.reasons.includes('package.json depends on vite (^6.0.0)'), plan.reasons.join('\n'));
  assert.equal((await platform.client.listDeployments()).data.length, before, 'no deployment made');
  assert.deepEqual(await readdir(join(platform.home, 'uploads')).catch(() => []), [], 'no upload left behind');
});

test('an archive is detected as a publish would see it, options included', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'detect-api-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'server.py'), 'import http.server\nhttp.server.HTTPServer(("", 8000), None)\n');
  const plan = await platform.client.detect(await packDirectory(dir));
  assert.deepEqual({ kind: plan.kind, detected: plan.detected, run: plan.run_command, port: plan.port }, { kind: 'dynamic', detected: 'python', run: 'python3 server.py', port: 8000 });
  const given = await platform.client.detect(await packDirectory(dir), { port: 9000 });
  assert.equal(given.port, 9000, 'the given port wins');
});

test('a source that needs a build is refused, at detect and at publish; as_is publishes it as it is', async () => {
  const raw = { 'index.html': '<h1>raw</h1>', 'vite.config.ts': 'export default {}' };
  const err = await platform.client.detect({ files: raw }).catch((e: unknown) => e);
  assert.ok(isSlipwayApiError(err, 'build_required'), String(err));
  assert.deepEqual(err.details.found, ['vite.config.ts']);

  await platform.client.createDeployment({ slug: 'raw' });
  const refused = await platform.client.publish('raw', { files: raw }, { wait: true });
  assert.equal(refused.version.state, 'failed');
  assert.equal(refused.version.error?.code, 'build_required');

  const published = await platform.client.publish('raw', { files: raw }, { wait: true, asIs: true });
  assert.equal(published.version.state, 'ready', JSON.stringify(published.version.error));
  assert.equal((await platform.edge('raw.localhost', '/')).text, '<h1>raw</h1>');
  const again = await platform.client.redeploy('raw');
  const redeployed = await waitFor(async () => {
    const v = await platform.client.getVersion('raw', again.version.id);
    return v.state === 'ready' || v.state === 'failed' ? v : undefined;
  }, { description: 'the redeploy to finish' });
  assert.equal(redeployed.state, 'ready', `a redeploy keeps as_is: ${JSON.stringify(redeployed.error)}`);
});

test('a Dockerfile on a server without a Docker engine is refused by detect, naming the setting that gives it one', async () => {
  const err = await platform.client.detect({ files: { Dockerfile: 'FROM busybox\nEXPOSE 3000\n' } }).catch((e: unknown) => e);
  assert.ok(isSlipwayApiError(err, 'dockerfile_requires_container_driver'), String(err));
  assert.match((err as Error).message, /SLIPWAY_RUNTIME_DRIVER=docker/);
});
