import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import type { DockerEngine } from '../runtime/docker/engine.js';
import { waitFor } from '../util/wait-for.js';
import { EngineSupervisor } from './engine-supervisor.js';

// A stand-in for dockerd: a real process whose death the supervisor must notice.
function fakeEngine(children: ChildProcess[]): DockerEngine {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  return {
    pid: child.pid!, started: true, layout: { logFile: '/x/dockerd.log' } as DockerEngine['layout'],
    api: { close: () => Promise.resolve() } as DockerEngine['api'], stop: () => Promise.resolve(),
  };
}

test('a dead engine is started again, at once the first time, and each restart is said', async () => {
  const children: ChildProcess[] = [];
  const printed: string[] = [];
  let starts = 0;
  const first = fakeEngine(children);
  const watch = new EngineSupervisor(first, {
    start: async () => (starts++, fakeEngine(children)), print: (line) => printed.push(line), pollMs: 20, backoffMs: [50],
  });
  try {
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => starts === 1 && watch.engine !== first, { timeoutMs: 10_000, description: 'the engine started again' });
    assert.match(printed.join('\n'), new RegExp(`WARNING: the Docker engine \\(dockerd pid ${first.pid}\\) exited`));
    assert.match(printed.join('\n'), new RegExp(`the Docker engine is back: dockerd pid ${watch.engine.pid} \\(started\\)`));
    // Dying again at once: started again too, after the backoff.
    const second = watch.engine;
    process.kill(second.pid, 'SIGKILL');
    await waitFor(() => starts === 2 && watch.engine !== second, { timeoutMs: 10_000, description: 'the engine started a third time' });
    assert.equal((await watch.stop()).pid, watch.engine.pid, 'stop answers the engine running now');
  } finally {
    await watch.stop();
    for (const c of children) c.kill('SIGKILL');
  }
});

test('an engine that keeps failing to start is retried with backoff, and said loudly once', async () => {
  const children: ChildProcess[] = [];
  const printed: string[] = [];
  let attempts = 0;
  const first = fakeEngine(children);
  const watch = new EngineSupervisor(first, {
    start: async () => {
      attempts++;
      if (attempts < 4) throw new Error(`dockerd did not start (${attempts})`);
      return fakeEngine(children);
    },
    print: (line) => printed.push(line), pollMs: 20, backoffMs: [10, 20], loudAfter: 2,
  });
  try {
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => watch.engine !== first, { timeoutMs: 10_000, description: 'the engine started after three failures' });
    const out = printed.join('\n');
    assert.equal(attempts, 4);
    assert.equal((out.match(/did not start again/g) ?? []).length, 3, out);
    assert.equal((out.match(/ERROR: the Docker engine keeps failing to start \(2 attempts in a row\)/g) ?? []).length, 1, out);
    assert.match(out, /the Docker engine is back/);
  } finally {
    await watch.stop();
    for (const c of children) c.kill('SIGKILL');
  }
});

// Successful restarts are not failures: the loud line counts failed starts in a row only, and a
// start that works ends the streak, so the next streak that long is said loudly again.
test('the loud error counts failed starts in a row, not restarts, and is said again for each such streak', async () => {
  const children: ChildProcess[] = [];
  const printed: string[] = [];
  const script = ['ok', 'fail', 'fail', 'ok', 'fail', 'fail', 'ok'];
  let step = 0;
  const first = fakeEngine(children);
  const watch = new EngineSupervisor(first, {
    start: async () => {
      const now = ++step;
      if (script[now - 1] === 'fail') throw new Error(`scripted failure at step ${now}`);
      return fakeEngine(children);
    },
    print: (line) => printed.push(line), pollMs: 10, backoffMs: [1], loudAfter: 2,
  });
  try {
    for (const afterStep of [1, 4, 7]) {
      const dying = watch.engine;
      process.kill(dying.pid, 'SIGKILL');
      await waitFor(() => step === afterStep && watch.engine !== dying, { timeoutMs: 10_000, description: `the engine back after step ${afterStep}` });
    }
    const loud = printed.flatMap((line, i) => (/ERROR: the Docker engine keeps failing/.test(line) ? [printed[i - 1] ?? ''] : []));
    assert.deepEqual(loud.map((line) => /step (\d+)/.exec(line)?.[1]), ['3', '6'], printed.join('\n'));
  } finally {
    await watch.stop();
    for (const c of children) c.kill('SIGKILL');
  }
});

test('the first restart is immediate, however long the backoff', async () => {
  const children: ChildProcess[] = [];
  const first = fakeEngine(children);
  const watch = new EngineSupervisor(first, { start: async () => fakeEngine(children), print: () => undefined, pollMs: 10, backoffMs: [10 * 60_000] });
  try {
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => watch.engine !== first, { timeoutMs: 5_000, description: 'the engine started again without waiting out the backoff' });
  } finally {
    await watch.stop();
    for (const c of children) c.kill('SIGKILL');
  }
});

test('stop() during the backoff returns promptly and starts nothing more', async () => {
  const children: ChildProcess[] = [];
  const printed: string[] = [];
  let starts = 0;
  const first = fakeEngine(children);
  const watch = new EngineSupervisor(first, {
    start: async () => (starts++, fakeEngine(children)), print: (line) => printed.push(line), pollMs: 10, backoffMs: [10 * 60_000],
  });
  try {
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => starts === 1 && watch.engine !== first, { description: 'the immediate first restart' });
    const second = watch.engine;
    process.kill(second.pid, 'SIGKILL');
    // Said right before the backoff sleep begins: the watch is waiting out 10 minutes now.
    await waitFor(() => printed.some((line) => line.includes(`dockerd pid ${second.pid}) exited`)), { description: 'the second exit noticed' });
    const started = Date.now();
    assert.equal(await watch.stop(), second);
    assert.ok(Date.now() - started < 5_000, 'stop waited out the backoff');
    assert.equal(starts, 1);
  } finally {
    await watch.stop();
    for (const c of children) c.kill('SIGKILL');
  }
});

test('stop() while a start is under way waits for it and answers the engine it started', async () => {
  const children: ChildProcess[] = [];
  let release!: (engine: DockerEngine) => void;
  let asked = false;
  const first = fakeEngine(children);
  const watch = new EngineSupervisor(first, {
    start: () => {
      asked = true;
      return new Promise<DockerEngine>((resolve) => { release = resolve; });
    },
    print: () => undefined, pollMs: 10,
  });
  try {
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => asked, { description: 'the restart under way' });
    let stoppedWith: DockerEngine | null = null;
    const stopping = watch.stop().then((engine) => { stoppedWith = engine; });
    // Several turns of the event loop: a stop that did not wait for the start would be done.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(stoppedWith, null, 'stop returned before the start under way ended');
    const next = fakeEngine(children);
    release(next);
    await stopping;
    assert.equal(stoppedWith, next);
  } finally {
    await watch.stop();
    for (const c of children) c.kill('SIGKILL');
  }
});
