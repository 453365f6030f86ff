import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { decodeBody, defer, startEdge, tempDir, versionPage, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { loadSite } from '../../test/support/edge/load-site.js';
import { get} from '../../test/support/edge/test-helpers.js';
import { waitFor } from '../util/wait-for.js';

test('switching the active release under load: no errors, every response wholly one version', async (t) => {
  const fake = await withFake(t);
  const releases = [1, 2, 3, 4].map(versionRelease);
  for (const r of releases) fake.blobs.set(r.sha256, r.tar);
  const shas = releases.map((r) => r.sha256);
  fake.upsert(testRoute('live', shas, { active: 1 }));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);

  // The tag of each version's variants, to check headers and body belong together.
  const expected = new Map<string, number>();
  for (const [i, r] of releases.entries()) {
    const index = loadSite(r.tar).files.get('index.html');
    for (const v of [index?.identity, index?.br, index?.gzip]) if (v) expected.set(v.etag, i + 1);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  defer(t, () => agent.destroy());
  const encodings = ['br', 'gzip', 'identity'];
  let stop = false;
  let done = 0;
  const problems: string[] = [];
  const worker = async (id: number) => {
    let last = 0;
    for (let i = 0; !stop; i++) {
      try {
        const res = await get(port, '/', { host: 'live.localhost', agent, headers: { 'accept-encoding': encodings[(i + id) % 3] as string } });
        const text = decodeBody(res);
        const version = Number(/version (\d)/.exec(text)?.[1]);
        if (res.status !== 200 || text !== versionPage(version)) problems.push(`bad body ${res.status}`);
        else if (expected.get(res.headers.etag as string) !== version) problems.push(`etag of another version`);
        else if (version < last) problems.push(`went back from v${last} to v${version}`);
        last = version;
      } catch (err) {
        problems.push(String(err));
      }
      done++;
    }
  };
  const workers = [0, 1, 2, 3, 4, 5].map(worker);
  try {
    for (const active of [2, 3, 4]) {
      const before = done;
      await waitFor(() => done > before + 200, { description: 'requests before the switch' });
      await edge.routes.waitForRevision(fake.upsert(testRoute('live', shas, { active })));
    }
    const after = done;
    await waitFor(() => done > after + 200, { description: 'requests after the last switch' });
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  assert.deepEqual(problems, []);
  assert.match((await get(port, '/', { host: 'live.localhost' })).body.toString(), /version 4/);
});
