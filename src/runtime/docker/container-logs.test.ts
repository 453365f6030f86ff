import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { DEFAULT_RESOURCES } from '../../core/runtime.js';
import { removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import { dockerSkipReason, useBusyboxEngine } from '../../../test/support/docker-engine.js';
import type { EngineApi } from './engine-api.js';
import { copyContainerLogs, demuxFrames, parseTimestamp } from './container-logs.js';
import { inspectContainer, removeContainer, startContainer, stopContainer } from './containers.js';

const skip = dockerSkipReason() ?? false;
const engine = useBusyboxEngine(skip);

const frame = (stream: number, text: string): Buffer => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

test('frames are split off the multiplexed stream, a partial one kept for the next chunk', () => {
  const both = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]);
  const cut = both.length - 3;
  const first = demuxFrames(both.subarray(0, cut));
  assert.deepEqual(first.payloads.map(String), ['out\n']);
  const second = demuxFrames(Buffer.concat([first.rest, both.subarray(cut)]));
  assert.deepEqual(second.payloads.map(String), ['err\n']);
  assert.equal(second.rest.length, 0);
});

test('engine timestamps keep their nanoseconds', () => {
  assert.deepEqual(parseTimestamp('2026-12-06T19:01:02.000000007Z'), { seconds: Date.parse('2026-12-06T19:01:02Z') / 1000, nanos: 7 });
  assert.deepEqual(parseTimestamp('2026-12-06T19:01:02Z')?.nanos, 0);
  assert.equal(parseTimestamp('garbage'), null);
});

test('a copier aborted before the engine answered the log request ends once it answers, instead of following forever', async () => {
  // The copy code around a stand-in engine whose answer is held back until after the abort.
  let answer!: (body: Readable) => void;
  let fakeAsked!: () => void;
  const asked = new Promise<void>((resolve) => {
    fakeAsked = resolve;
  });
  const api: EngineApi = {
    json: () => Promise.reject(new Error('not used')),
    stream: () => {
      fakeAsked();
      return new Promise<Readable>((resolve) => (answer = resolve));
    },
    close: async () => undefined,
  };
  const dir = await mkdtemp('/tmp/swd-logs-');
  const body = new PassThrough(); // a followed container's output: it never ends by itself
  try {
    const abort = new AbortController();
    let ended = false;
    const copying = copyContainerLogs(api, { containerId: 'c1', logPath: join(dir, 'out.log'), cursorPath: join(dir, 'cursor'), signal: abort.signal })
      .finally(() => (ended = true));
    await asked;
    abort.abort();
    answer(body);
    await waitFor(() => ended, { timeoutMs: 5_000, description: 'the aborted copier to end' });
    await copying;
    assert.equal(body.destroyed, true, 'the followed stream is let go');
  } finally {
    body.destroy();
    await removeDir(dir);
  }
});

test('output is copied into logPath, and a copier started again resumes without losing or doubling a line', { skip }, async () => {
  const api = engine().engine.api;
  const dir = await mkdtemp('/tmp/swd-logs-');
  const logPath = join(dir, 'instance.log');
  const cursorPath = join(dir, 'instance.cursor');
  // Prints two lines, then two more (one on stderr) only once it is told to stop.
  const script = "trap 'echo third; echo fourth >&2; exit 0' TERM; echo first; echo second >&2; while true; do sleep 0.1; done";
  const started = await startContainer(api, {
    id: 'rti_logs', release: { kind: 'image', image: 'slipway-test/busybox:1' }, runCommand: script, port: 3000,
    env: { PATH: '/bin' }, resources: DEFAULT_RESOURCES, logPath,
  });
  try {
    const stopFirst = new AbortController();
    const firstCopier = copyContainerLogs(api, { containerId: started.containerId, logPath, cursorPath, signal: stopFirst.signal });
    await waitFor(async () => (await readFile(logPath, 'utf8').catch(() => '')).includes('second'), { description: 'the first two lines' });
    // The agent goes away: its copier stops while the container keeps printing.
    stopFirst.abort();
    await firstCopier;
    await stopContainer(api, started.containerId, 10_000);
    assert.equal((await inspectContainer(api, started.containerId))?.running, false);
    assert.equal(await readFile(logPath, 'utf8'), 'first\nsecond\n', 'control: the later lines came after the first copier stopped');

    // A new agent's copier picks up from the cursor and follows to the end of the output.
    await copyContainerLogs(api, { containerId: started.containerId, logPath, cursorPath });
    assert.equal(await readFile(logPath, 'utf8'), 'first\nsecond\nthird\nfourth\n');
    // Once more: nothing new, nothing doubled.
    await copyContainerLogs(api, { containerId: started.containerId, logPath, cursorPath });
    assert.equal(await readFile(logPath, 'utf8'), 'first\nsecond\nthird\nfourth\n');
  } finally {
    await removeContainer(api, started.containerId);
    await removeDir(dir);
  }
});
