/**
 * The docker driver keeps no handle files: each container carries the facts of its handle as
 * labels (driver label, slot, port, start time, log file), so the engine alone is the record
 * of which instances exist, and a restarted agent rebuilds the same handles from it.
 */
import { isAbsolute, join, normalize } from 'node:path';
import { isSlipwayError } from '../../core/errors.js';
import type { InstanceHandle } from '../runtime-driver.js';
import { assertInstanceId } from '../local/handle-store.js';
import { SLOTS_PER_SUBNET } from '../local/instance-net.js';
import type { EngineApi } from './engine-api.js';
import { OWNER_LABEL } from './engine.js';
import { INSTANCE_LABEL } from './container-spec.js';

/** Labels naming the handle facts of an instance's container. */
export const HANDLE_LABELS = {
  /** The driver's label: only the driver with this label lists, stops or sweeps it. */
  driver: 'dev.slipway.runtime',
  slot: 'dev.slipway.slot',
  port: 'dev.slipway.port',
  startedAt: 'dev.slipway.started-at',
  logPath: 'dev.slipway.log-path',
} as const;

/** What {@link InstanceHandle.data} holds for a docker instance. */
export interface DockerHandleData {
  /** Routes handles to this driver (the composite driver reads it). */
  driver: 'docker';
  containerId: string;
  /** The /30 of the driver's subnet: names the namespace and veth. */
  slot: number;
  /** The container's init pid on the host while it runs with a network; 0 otherwise. */
  pid: number;
  logPath: string;
}

/** The facts a handle is made of, as they go onto the container. */
export interface HandleFacts {
  id: string;
  slot: number;
  port: number;
  startedAt: number;
  logPath: string;
}

/**
 * Every label the driver reads off a container, set to '' (which no reader accepts). The
 * engine copies an image's labels onto a container unless the create request names the same
 * key, so a Dockerfile `LABEL dev.slipway.slot=…` would otherwise plant handle facts on any
 * container made from it: every container Slipway creates starts from these.
 */
export function blankHandleLabels(): Record<string, string> {
  const blank: Record<string, string> = { [INSTANCE_LABEL]: '' };
  for (const key of Object.values(HANDLE_LABELS)) blank[key] = '';
  return blank;
}

/** The labels that let {@link handleFromLabels} rebuild the handle. */
export function handleLabels(driverLabel: string, facts: HandleFacts): Record<string, string> {
  return {
    [HANDLE_LABELS.driver]: driverLabel,
    [HANDLE_LABELS.slot]: String(facts.slot),
    [HANDLE_LABELS.port]: String(facts.port),
    [HANDLE_LABELS.startedAt]: String(facts.startedAt),
    [HANDLE_LABELS.logPath]: facts.logPath,
  };
}

/** The handle of an instance, from its facts and where it is reached. */
export function makeHandle(facts: HandleFacts, container: { containerId: string; pid: number; instanceIp: string }): InstanceHandle {
  const data: DockerHandleData = { driver: 'docker', containerId: container.containerId, slot: facts.slot, pid: container.pid, logPath: facts.logPath };
  return { id: facts.id, address: `${container.instanceIp}:${facts.port}`, port: facts.port, startedAt: facts.startedAt, data: { ...data } };
}

/** What a container's facts are checked against: where its handle says it is and logs. */
export interface HandleExpectations {
  /** The container's name as the engine lists it (`/slipway-<id>`). */
  name?: string;
  /**
   * The folder the agent keeps instance logs in: logPath must then be `<logDir>/<id>.log`.
   * Without it, logPath must still be an absolute, normalised path ending in `/<id>.log`.
   */
  logDir?: string;
}

function validInstanceId(id: string): boolean {
  try {
    assertInstanceId(id);
    return true;
  } catch (err) {
    if (isSlipwayError(err)) return false;
    throw err;
  }
}

/**
 * The facts a container's labels carry, or null when they are not a whole, valid set. Labels
 * are read as untrusted (an image can carry any): the id must be an instance id, the name the
 * one the driver gives its container, the slot one of the subnet's, the port a port, and the
 * log file the agent's own for that id (root appends to it).
 */
export function factsFromLabels(labels: Record<string, string>, expect: HandleExpectations = {}): HandleFacts | null {
  const id = labels[INSTANCE_LABEL];
  const slot = Number(labels[HANDLE_LABELS.slot]);
  const port = Number(labels[HANDLE_LABELS.port]);
  const startedAt = Number(labels[HANDLE_LABELS.startedAt]);
  const logPath = labels[HANDLE_LABELS.logPath];
  if (id === undefined || logPath === undefined || !validInstanceId(id)) return null;
  if (expect.name !== undefined && expect.name !== `/slipway-${id}`) return null;
  if (![slot, port, startedAt].every((n) => Number.isInteger(n) && n >= 0)) return null;
  if (slot >= SLOTS_PER_SUBNET || port < 1 || port > 65535) return null;
  const wantedLog = expect.logDir === undefined ? null : join(expect.logDir, `${id}.log`);
  if (wantedLog !== null ? logPath !== wantedLog : !isAbsolute(logPath) || normalize(logPath) !== logPath || !logPath.endsWith(`/${id}.log`)) return null;
  return { id, slot, port, startedAt, logPath };
}

/** The driver-private data of a handle this driver made, or null for anyone else's. */
export function dockerData(handle: InstanceHandle): DockerHandleData | null {
  const d = handle.data;
  if (d.driver !== 'docker' || typeof d.containerId !== 'string' || typeof d.slot !== 'number') return null;
  return {
    driver: 'docker', containerId: d.containerId, slot: d.slot,
    pid: typeof d.pid === 'number' ? d.pid : 0, logPath: typeof d.logPath === 'string' ? d.logPath : '',
  };
}

/** One of the driver's containers, as the engine lists it. */
export interface ListedContainer {
  containerId: string;
  running: boolean;
  /** Null when its labels are not a valid handle's (a half-made, foreign or forged container of the label). */
  facts: HandleFacts | null;
}

/** Every container of the driver labelled `driverLabel`, running or exited. */
export async function listDriverContainers(api: EngineApi, driverLabel: string, expect: Pick<HandleExpectations, 'logDir'> = {}): Promise<ListedContainer[]> {
  const list = await api.json<{ Id: string; State?: string; Names?: string[]; Labels?: Record<string, string> }[]>({
    method: 'GET',
    path: '/containers/json',
    query: { all: true, filters: { label: [`${OWNER_LABEL}=true`, `${HANDLE_LABELS.driver}=${driverLabel}`] } },
  });
  return list.map((c) => ({
    containerId: c.Id,
    running: c.State === 'running',
    facts: factsFromLabels(c.Labels ?? {}, { ...expect, name: c.Names?.[0] ?? '' }),
  }));
}
