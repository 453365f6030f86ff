// `python` on a host that only has `python3` (Debian, Ubuntu): a build step and a start script
// that say `python` both work, in the isolated sandbox, through Slipway's `python` shim.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pythonShimTarget } from '../../src/util/python-shim.js';
import { runtimeLeftovers, startIsolatedPlatform } from '../support/isolated-platform.js';
import type { Platform } from '../support/platform.js';

let platform: Platform;
let label: string;

before(async () => {
  ({ platform, label } = await startIsolatedPlatform());
});
after(async () => {
  await platform?.stop();
  if (label) assert.deepEqual(await runtimeLeftovers(label), [], 'stopping the platform removes every runtime object');
});

const MAIN_PY = [
  'import os, sys',
  'from http.server import BaseHTTPRequestHandler, HTTPServer',
  '',
  'class Handler(BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  "        built = open('built.txt').read()",
  "        body = ('%s %s.%s' % (built, sys.version_info[0], sys.version_info[1])).encode()",
  '        self.send_response(200)',
  "        self.send_header('Content-Length', str(len(body)))",
  '        self.end_headers()',
  '        self.wfile.write(body)',
  '',
  "HTTPServer(('0.0.0.0', int(os.environ['PORT'])), Handler).serve_forever()",
  '',
].join('\n');

test('`python` in a build command and in `npm start` runs python3 when the host has no `python`', async () => {
  // The control: this host must be one the shim is for, or the test proves nothing.
  assert.ok(pythonShimTarget(), 'this host has `python3` and no `python` on the system PATH');
  const { client } = platform;
  await client.createDeployment({ slug: 'pyshim' });
  const published = await client.publish('pyshim', {
    files: {
      'package.json': JSON.stringify({ name: 'pyshim', private: true, scripts: { start: 'python main.py' } }),
      'main.py': MAIN_PY,
    },
  }, {
    wait: true,
    buildCommand: `python -c "open('built.txt', 'w').write('built by python')"`,
    runCommand: 'npm start',
    port: 8000,
    settings: { health_interval_ms: 200, health_timeout_ms: 2000, drain_timeout_ms: 2000 },
  });
  assert.equal(published.version.state, 'ready', JSON.stringify(published.version));
  const res = await platform.edge('pyshim.localhost', '/');
  assert.equal(res.status, 200, res.text);
  assert.match(res.text, /^built by python 3\.\d+$/);
});
