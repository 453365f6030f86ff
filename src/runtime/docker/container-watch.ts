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
  /**
   * Whether the container runs, or null when neither the snapshot nor any event so far named it
   * (one started a moment ago whose `start` event is still on its way, or one removed): the
   * caller then asks the engine.
   */
  state(containerId: string): Promise<boolean | null>;
  /**
   * True once the engine reported an OOM kill in the container (its `oom` event) since this
   * watch began. Docker 20.10 sets `OOMKilled` in the container's state only when the kernel's
   * notice reached it before the exit (under load it may come after); the event comes either way.
   */
  sawOomKill(containerId: string): boolean;
  /** Stops following the engine. */
  close(): void;
}

/** Starts watching the engine behind `api`; resolves once the first snapshot is in. */
export async function watchContainers(api: EngineApi): Promise<ContainerWatch> {
  // Container id → running; ids the engine removed are dropped (they are unknown again).
  const states = new Map<string, boolean>();
  const oomKilled = new Set<string>();
  let stream: Readable | null = null;
  let ready: Promise<void> | null = null;
  let closed = false;

  async function open(): Promise<void> {
    const filters = { type: ['container'], label: [`${OWNER_LABEL}=true`] };
    const events = await api.stream({ method: 'GET', path: '/events', query: { filters } });
    stream = events;
    const list = await api.json<{ Id: string; State: string }[]>({ method: 'GET', path: '/containers/json', query: { all: true, filters: { label: [`${OWNER_LABEL}=true`] } } });
    states.clear();
    for (const container of list) states.set(container.Id, container.State === 'running');
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
        if (action === 'oom') oomKilled.add(id);
        if (STARTS.has(action)) states.set(id, true);
        else if (action === 'destroy') {
          states.delete(id);
          oomKilled.delete(id);
        }
        else if (ENDS.has(action)) states.set(id, false);
      }
    } catch {
      // A broken stream is re-opened by the next call (below); nothing to report here.
    }
    if (stream === events) {
      stream = null;
      ready = null;
    }
  }

  // A failed (re-)open is tried again by the next call rather than remembered.
  const reopen = (): Promise<void> => open().catch((err: unknown) => {
    ready = null;
    throw err;
  });
  ready = reopen();
  await ready;
  const state = async (containerId: string): Promise<boolean | null> => {
    if (!closed && ready === null) ready = reopen();
    await ready;
    return states.get(containerId) ?? null;
  };
  return {
    isRunning: async (containerId) => (await state(containerId)) === true,
    state,
    sawOomKill: (containerId) => oomKilled.has(containerId),
    close() {
      closed = true;
      stream?.destroy();
      stream = null;
    },
  };
}
