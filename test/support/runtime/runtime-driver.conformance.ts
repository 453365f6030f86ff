import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_RESOURCES, type ResourceSpec } from '../../../src/core/runtime.js';
import { makeTempDir, removeDir } from '../../../src/util/temp-dir.js';
import { waitFor } from '../../../src/util/wait-for.js';
import type { InstanceHandle, InstanceRelease, RuntimeDriver, StartInstanceSpec } from '../../../src/runtime/runtime-driver.js';

/** What a conformance run needs from an implementation. */
export interface ConformanceDriver {
  /** A prepared driver on fresh state. */
  driver: RuntimeDriver;
  /** A new driver object over the same persisted state, as a restarted agent makes. */
  reopen(): RuntimeDriver;
  /** Variables every instance needs on this driver (at least a `PATH` where `node` is found). */
  baseEnv: Record<string, string>;
  /**
   * Turns the suite's app tree into what this driver runs (default: `{ kind: 'tree', appDir }`);
   * an image-only driver builds an image of it here, with `node` on its PATH.
   */
  release?(appDir: string): Promise<InstanceRelease>;
  /** After the suite: destroys everything and asserts that nothing of the driver is left on the host. */
  cleanup(): Promise<void>;
}

// The suite's apps, Node.js scripts run from the release tree with `node <file>`.
const APPS: Record<string, string> = {
  'server.js': `require('node:http').createServer((q, s) => s.end(JSON.stringify({ port: process.env.PORT, greeting: process.env.GREETING ?? null })))
  .listen(Number(process.env.PORT), () => console.log('listening on ' + process.env.PORT));\n`,
  'two-ports.js': `const http = require('node:http');
http.createServer((q, s) => s.end('main')).listen(Number(process.env.PORT), () => {
  const extra = http.createServer((q, s) => s.end('metrics')).listen(0, () => console.log('EXTRA ' + extra.address().port));
});\n`,
  'wrong-port.js': `const s = require('node:http').createServer((q, r) => r.end('x')).listen(0, () => console.log('WRONG ' + s.address().port));\n`,
  'graceful.js': `require('node:http').createServer((q, s) => s.end('up')).listen(Number(process.env.PORT), () => console.log('up'));
process.on('SIGTERM', () => { console.log('got SIGTERM'); setTimeout(() => process.exit(0), 50); });\n`,
  'stubborn.js': `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000); console.log('up');\n`,
  'crash.js': `console.log('about to crash'); throw new Error('boom');\n`,
  'oom.js': `const keep = []; setInterval(() => keep.push(Buffer.alloc(16 << 20, 1)), 10);\n`,
  'spin.js': `const t0 = Date.now(), c0 = process.cpuUsage(); while (Date.now() - t0 < 3000) {}
const c = process.cpuUsage(c0); console.log('SPIN ' + Math.round((c.user + c.system) / 1000) + ' ' + (Date.now() - t0)); setInterval(() => {}, 1000);\n`,
};

/** One HTTP GET from the host to an instance's address (the edge's path). */
export function httpGet(address: string): Promise<{ status: number; body: string }> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), path: '/', agent: false, timeout: 1000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Waits for a 200 from `address` and returns its body. */
export async function answers(address: string): Promise<string> {
  return waitFor(async () => {
    const r = await httpGet(address);
    return r.status === 200 ? r.body : null;
  }, { timeoutMs: 15_000, description: `HTTP 200 from ${address}` });
}

/**
 * Registers the behaviour every {@link RuntimeDriver} must show, as node:test tests under a
 * `describe(name)`. Each implementation's test file calls it with a factory (once per mode it
 * has). Behaviour behind a capability flag (OOM, CPU limits) is tested only where the driver
 * claims it. Tests run one after another and clean up their instances; the last one checks
 * `destroyAll`, and `cleanup` then checks the host.
 */
export function runRuntimeDriverConformance(
  name: string,
  make: () => Promise<ConformanceDriver>,
  options: { skip?: string | false } = {},
): void {
  describe(`RuntimeDriver conformance: ${name}`, { skip: options.skip ?? false }, () => {
    let c: ConformanceDriver;
    let driver: RuntimeDriver;
    let root: string;
    let release: InstanceRelease;
    const logOf = (id: string): string => join(root, 'logs', `${id}.log`);
    const log = (id: string): Promise<string> => readFile(logOf(id), 'utf8').catch(() => '');
    const logMatch = (id: string, re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> =>
      waitFor(async () => re.exec(await log(id)), { timeoutMs, description: `${re} in the output of ${id}` });
    const spec = (id: string, run: string, extra: { env?: Record<string, string>; resources?: Partial<ResourceSpec> } = {}): StartInstanceSpec => ({
      id, release, runCommand: run, port: 3000, env: { ...c.baseEnv, ...extra.env },
      resources: { ...DEFAULT_RESOURCES, ...extra.resources }, logPath: logOf(id),
    });
    const exited = (h: InstanceHandle, timeoutMs = 15_000): Promise<boolean> =>
      waitFor(async () => !(await driver.isRunning(h)), { timeoutMs, description: `${h.id} to exit` });

    before(async () => {
      root = await makeTempDir('driver-conformance-');
      const appDir = join(root, 'app');
      await mkdir(appDir, { recursive: true });
      for (const [file, text] of Object.entries(APPS)) await writeFile(join(appDir, file), text);
      c = await make();
      driver = c.driver;
      release = c.release ? await c.release(appDir) : { kind: 'tree', appDir };
    });
    after(async () => {
      try {
        await c?.cleanup();
      } finally {
        if (root) await removeDir(root);
      }
    });

    test('start: the app gets PORT and its env, listens, and is reachable at the address; stop ends it', async () => {
      const h = await driver.start(spec('rti_serve', 'exec node server.js', { env: { GREETING: 'hi there' } }));
      assert.ok(await driver.isRunning(h));
      assert.equal(Number(h.address.slice(h.address.lastIndexOf(':') + 1)) > 0, true, h.address);
      const body = JSON.parse(await answers(h.address)) as { port: string; greeting: string };
      assert.deepEqual(body, { port: String(h.port), greeting: 'hi there' });
      assert.deepEqual((await driver.list()).map((x) => x.id), [h.id]);
      await logMatch(h.id, new RegExp(`listening on ${h.port}`));
      await driver.stop(h, 2000);
      assert.equal(await driver.isRunning(h), false);
      await assert.rejects(httpGet(h.address));
      assert.deepEqual(await driver.list(), []);
    });

    test('listeningPorts names every port the app listens on, in the same terms as handle.port', async () => {
      const h = await driver.start(spec('rti_ports', 'exec node two-ports.js'));
      try {
        const extra = Number((await logMatch(h.id, /EXTRA (\d+)/))[1]);
        const ports = await waitFor(async () => {
          const p = await driver.listeningPorts(h);
          return p.length === 2 ? p : null;
        }, { description: 'two listening ports' });
        assert.deepEqual(ports, [h.port, extra].sort((a, b) => a - b));
      } finally {
        await driver.stop(h, 1000);
      }
      assert.deepEqual(await driver.listeningPorts(h), [], 'a removed instance listens on nothing');
    });

    test('an app on the wrong port: listeningPorts shows that port and not handle.port', async () => {
      const h = await driver.start(spec('rti_wrong', 'exec node wrong-port.js'));
      try {
        const wrong = Number((await logMatch(h.id, /WRONG (\d+)/))[1]);
        assert.deepEqual(await waitFor(async () => {
          const p = await driver.listeningPorts(h);
          return p.length > 0 ? p : null;
        }, { description: 'a listening port' }), [wrong]);
        assert.notEqual(wrong, h.port);
      } finally {
        await driver.stop(h, 1000);
      }
    });

    test('connectionCount counts open connections to the app port, down to 0 when they close', async () => {
      const h = await driver.start(spec('rti_conns', 'exec node server.js'));
      try {
        await answers(h.address);
        const i = h.address.lastIndexOf(':');
        const socket = connect({ host: h.address.slice(0, i), port: Number(h.address.slice(i + 1)) });
        try {
          await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
          await waitFor(async () => ((await driver.connectionCount(h)) ?? 0) >= 1, { description: 'one connection counted' });
        } finally {
          socket.destroy();
        }
        await waitFor(async () => (await driver.connectionCount(h)) === 0, { description: 'no connection left' });
      } finally {
        await driver.stop(h, 1000);
      }
    });

    test('stop gives a SIGTERM-handling app its grace and it exits by itself', async () => {
      const h = await driver.start(spec('rti_graceful', 'exec node graceful.js'));
      await answers(h.address);
      const t0 = Date.now();
      await driver.stop(h, 10_000);
      assert.ok(Date.now() - t0 < 8000, `stop took ${Date.now() - t0} ms for an app that exits on SIGTERM`);
      assert.match(await log(h.id), /got SIGTERM/);
      assert.equal(await driver.isRunning(h), false);
    });

    test('stop SIGKILLs an app that ignores SIGTERM once the grace is over', async () => {
      const h = await driver.start(spec('rti_stubborn', 'exec node stubborn.js'));
      await logMatch(h.id, /up/);
      const t0 = Date.now();
      await driver.stop(h, 500);
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 8000, `stop took ${took} ms with a grace of 500 ms`);
      assert.match(await log(h.id), /ignoring SIGTERM/);
      assert.equal(await driver.isRunning(h), false);
      assert.deepEqual(await driver.list(), []);
    });

    test('an exited instance stays listed until removed, with its exit code and output; remove is idempotent', async () => {
      const h = await driver.start(spec('rti_exit', 'echo bye; exit 3'));
      await exited(h);
      assert.deepEqual((await driver.list()).map((x) => x.id), [h.id]);
      assert.deepEqual(await driver.exitInfo(h), { oomKilled: false, exitCode: 3, signal: null });
      assert.match(await log(h.id), /bye/);
      await driver.remove(h);
      await driver.remove(h);
      assert.deepEqual(await driver.list(), []);
    });

    test('a crash is reported with its exit code and its output is in the log', async () => {
      const h = await driver.start(spec('rti_crash', 'exec node crash.js'));
      await exited(h);
      const exit = await driver.exitInfo(h);
      assert.equal(exit.oomKilled, false);
      assert.equal(exit.exitCode, 1);
      assert.match(await log(h.id), /about to crash[\s\S]*Error: boom/);
      await driver.remove(h);
    });

    test('the run command is one argument, not spliced into a shell', async () => {
      const h = await driver.start(spec('rti_quote', `printf '%s\\n' "$X"`, { env: { X: '$(echo pwned); `id`' } }));
      await exited(h);
      assert.equal(await log(h.id), '$(echo pwned); `id`\n');
      await driver.remove(h);
    });

    test('instances started at the same time get distinct addresses and all serve', async () => {
      const handles = await Promise.all([0, 1, 2, 3].map((n) => driver.start(spec(`rti_par${n}`, 'exec node server.js'))));
      try {
        assert.equal(new Set(handles.map((h) => h.address)).size, handles.length, JSON.stringify(handles.map((h) => h.address)));
        for (const h of handles) await answers(h.address);
        for (const h of handles) assert.ok(await driver.isRunning(h));
      } finally {
        await Promise.all(handles.map((h) => driver.stop(h, 1000)));
      }
      assert.deepEqual(await driver.list(), []);
    });

    test('a new driver on the same state lists the instance (re-adoption), checks and stops it', async () => {
      const h = await driver.start(spec('rti_adopt', 'exec node server.js'));
      await answers(h.address);
      const next = c.reopen();
      const listed = await next.list();
      assert.deepEqual(listed.map((x) => [x.id, x.address, x.port, x.startedAt]), [[h.id, h.address, h.port, h.startedAt]]);
      const adopted = listed[0]!;
      assert.ok(await next.isRunning(adopted));
      assert.ok((await next.listeningPorts(adopted)).includes(adopted.port));
      await answers(adopted.address);
      await next.stop(adopted, 2000);
      assert.equal(await driver.isRunning(h), false);
      assert.deepEqual(await next.list(), []);
    });

    test('an instance over its memory limit is killed and reported as OOM-killed (where limits are enforced)', async (t) => {
      if (!driver.capabilities.resourceLimits) return t.skip('the driver does not enforce limits here');
      const h = await driver.start(spec('rti_oom', 'exec node oom.js', { resources: { memory_mb: 64 } }));
      await exited(h, 20_000);
      const exit = await driver.exitInfo(h);
      assert.equal(exit.oomKilled, true);
      assert.notEqual(exit.exitCode, 0);
      await driver.remove(h);
    });

    test('cpu_millis caps the CPU an instance gets (where limits are enforced)', async (t) => {
      if (!driver.capabilities.resourceLimits) return t.skip('the driver does not enforce limits here');
      // 200 millis = a fifth of one core. The app spins for 3 s of wall time and reports the CPU
      // time it got; unlimited it gets most of a core (even on a busy host, well over 0.35).
      const h = await driver.start(spec('rti_spin', 'exec node spin.js', { resources: { cpu_millis: 200 } }));
      const line = await logMatch(h.id, /SPIN (\d+) (\d+)/, 60_000);
      const [cpuMs, wallMs] = [Number(line[1]), Number(line[2])];
      assert.ok(cpuMs / wallMs < 0.35, `got ${cpuMs} ms of CPU in ${wallMs} ms (limit 20%)`);
      await driver.stop(h, 500);
    });

    test('an image release is refused by a driver without containerImages', async (t) => {
      if (driver.capabilities.containerImages) return t.skip('the driver runs images');
      await assert.rejects(driver.start({ ...spec('rti_image', ''), release: { kind: 'image', image: 'slipway/none:latest' } }),
        (err: Error & { code?: string }) => err.code === 'unavailable');
      assert.deepEqual(await driver.list(), []);
    });

    test('destroyAll stops every instance, running or exited, and forgets them', async () => {
      const running = await driver.start(spec('rti_all1', 'exec node server.js'));
      const gone = await driver.start(spec('rti_all2', 'exit 0'));
      await answers(running.address);
      await exited(gone);
      await driver.destroyAll();
      assert.equal(await driver.isRunning(running), false);
      assert.deepEqual(await driver.list(), []);
      // No request to the old address here: destroyAll may have removed the route that kept
      // the instance subnet from leaving the host.
      // Usable again afterwards (it prepares itself on the next start).
      const again = await driver.start(spec('rti_again', 'exec node server.js'));
      await answers(again.address);
      await driver.stop(again, 1000);
    });
  });
}
