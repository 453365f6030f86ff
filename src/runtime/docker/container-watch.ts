/**
 * Which of Slipway's containers run, kept current from the engine's event stream, so the
 * agent's `isRunning` (asked every ~100 ms per instance) is a map lookup instead of one API
 * request per call. The stream is opened before the snapshot is read, so no change falls between
 * them; when the stream breaks, the next call re-opens it and takes a fresh snapshot.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { EngineApi } from './engine-api.js';
import { OWNER_LABEL } from './engine.js';

/**
 * Container actions that change whether it runs. Not `kill` (a signal the app may survive) nor
 * `oom` (an exec'd process may be the one killed); `exec_die` is an exec ending, not the container.
 */
const STARTS = new Set(['start', 'unpause', 'restart']);
const ENDS = new Set(['die', 'stop', 'destroy']);

/** A live view of which Slipway containers run. */
export interface ContainerWatch {
  /** True while the container runs, as far as the last event said. */
  isRunning(containerId: string): Promise<boolean>;
  /** Stops following the engine. */
  close(): void;
}

/** Starts watching the engine behind `api`; resolves once the first snapshot is in. */
export async function watchContainers(api: EngineApi): Promise<ContainerWatch> {
  const running = new Set<string>();
  let stream: Readable | null = null;
  let ready: Promise<void> | null = null;
  let closed = false;

  async function open(): Promise<void> {
    const filters = { type: ['container'], label: [`${OWNER_LABEL}=true`] };
    const events = await api.stream({ method: 'GET', path: '/events', query: { filters } });
    stream = events;
    const list = await api.json<{ Id: string; State: string }[]>({ method: 'GET', path: '/containers/json', query: { all: true, filters: { label: [`${OWNER_LABEL}=true`] } } });
    running.clear();
    for (const container of list) if (container.State === 'running') running.add(container.Id);
    void follow(events);
  }

  async function follow(events: Readable): Promise<void> {
    try {
      for await (const line of createInterface({ input: events, crlfDelay: Infinity })) {
        if (line.trim() === '') continue;
        const event = JSON.parse(line) as { Action?: string; id?: string; Actor?: { ID?: string } };
        const id = event.id ?? event.Actor?.ID;
        const action = (event.Action ?? '').split(':')[0] ?? '';
        if (id === undefined) continue;
        if (STARTS.has(action)) running.add(id);
        else if (ENDS.has(action)) running.delete(id);
      }
    } catch {
      // A broken stream is re-opened by the next call (below); nothing to report here.
    }
    if (stream === events) {
      stream = null;
      ready = null;
    }
  }

  ready = open();
  await ready;
  return {
    async isRunning(containerId) {
      if (!closed && ready === null) ready = open();
      await ready;
      return running.has(containerId);
    },
    close() {
      closed = true;
      stream?.destroy();
      stream = null;
    },
  };
}
