import { test } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { DEFAULT_RESOURCES } from '../../core/runtime.js';
import { waitFor } from '../../util/wait-for.js';
import { dockerSkipReason, useBusyboxEngine } from '../../../test/support/docker-engine.js';
import type { EngineApi } from './engine-api.js';
import { OWNER_LABEL } from './engine.js';
import { FALLBACK_USER } from './container-spec.js';
import { inspectContainer, removeContainer, startContainer } from './containers.js';
import { readImagePasswd, resolveInstanceUser } from './image-user.js';
import { factsFromLabels, HANDLE_LABELS } from './container-handles.js';
import { INSTANCE_LABEL } from './container-spec.js';

const skip = dockerSkipReason() ?? false;
const engine = useBusyboxEngine(skip);
const api = (): EngineApi => engine().engine.api;

/** An image made from the busybox base by running `script` in it as root, then `changes` (`USER x`, `LABEL k=v`). */
async function derivedImage(ref: string, script: string, changes: string[]): Promise<void> {
  const { Id } = await api().json<{ Id: string }>({
    method: 'POST',
    path: '/containers/create',
    json: { Image: 'slipway-test/busybox:1', Cmd: ['/bin/sh', '-c', script], User: '0', Labels: { [OWNER_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' } },
  });
  try {
    await api().json({ method: 'POST', path: `/containers/${Id}/start` });
    const { StatusCode } = await api().json<{ StatusCode: number }>({ method: 'POST', path: `/containers/${Id}/wait`, timeoutMs: 30_000 });
    assert.equal(StatusCode, 0, script);
    const [repo, tag] = ref.split(':');
    await api().json({ method: 'POST', path: '/commit', query: { container: Id, repo, tag, changes } });
  } finally {
    await api().json({ method: 'DELETE', path: `/containers/${Id}`, query: { force: true } });
  }
}

/** `id -u` in an instance container of `image`, started the way the driver starts one. */
async function uidIn(image: string, id: string): Promise<{ user: string; uid: string }> {
  const started = await startContainer(api(), {
    id, release: { kind: 'image', image }, runCommand: 'id -u', port: 3000, env: { PATH: '/bin' },
    resources: { ...DEFAULT_RESOURCES, memory_mb: 32, pids_max: 16, disk_mb: 8 }, logPath: '/dev/null',
  });
  try {
    await waitFor(async () => (await inspectContainer(api(), started.containerId))?.running === false, { timeoutMs: 30_000, description: `${id} to exit` });
    const logs = await text(await api().stream({ method: 'GET', path: `/containers/${started.containerId}/logs`, query: { stdout: true, stderr: true } }));
    return { user: started.user, uid: /(\d+)\s*$/.exec(logs)?.[1] ?? logs };
  } finally {
    await removeContainer(api(), started.containerId);
  }
}

test("a name that maps to uid 0 in the image's /etc/passwd runs as nobody, not root", { skip }, async () => {
  await derivedImage('slipway-test/toor:1', 'echo toor:x:0:0::/:/bin/sh >> /etc/passwd', ['USER toor']);
  // The control: the same way, a name with a non-root uid is kept and runs as that uid.
  await derivedImage('slipway-test/named:1', 'echo web:x:10002:10002::/tmp:/bin/sh >> /etc/passwd', ['USER web']);
  assert.match((await readImagePasswd(api(), 'slipway-test/toor:1')) ?? '', /^toor:x:0:0:/m, 'the passwd is read from the image');
  assert.deepEqual(await uidIn('slipway-test/named:1', 'rti_named'), { user: 'web', uid: '10002' });
  assert.deepEqual(await uidIn('slipway-test/toor:1', 'rti_toor'), { user: FALLBACK_USER, uid: '65534' });
});

test('uid 0 spelt otherwise (00, 0:0) runs as nobody; a name the image does not have too', { skip }, async () => {
  await derivedImage('slipway-test/zero:1', 'true', ['USER 00']);
  await derivedImage('slipway-test/zerozero:1', 'true', ['USER 0:0']);
  await derivedImage('slipway-test/ghost:1', 'true', ['USER ghost']);
  assert.deepEqual(await uidIn('slipway-test/zero:1', 'rti_zero'), { user: FALLBACK_USER, uid: '65534' });
  assert.deepEqual(await uidIn('slipway-test/zerozero:1', 'rti_zerozero'), { user: FALLBACK_USER, uid: '65534' });
  assert.equal(await resolveInstanceUser(api(), 'slipway-test/ghost:1', 'ghost'), FALLBACK_USER);
  // The passwd read leaves no container behind.
  const left = await api().json<unknown[]>({ method: 'GET', path: '/containers/json', query: { all: true } });
  assert.deepEqual(left, []);
});

test("an image's labels cannot make the passwd probe or an instance container look like another instance", { skip }, async () => {
  const forged = {
    [HANDLE_LABELS.driver]: 'forgedc', [INSTANCE_LABEL]: 'rti_victim', [HANDLE_LABELS.slot]: '3',
    [HANDLE_LABELS.port]: '8080', [HANDLE_LABELS.startedAt]: '1', [HANDLE_LABELS.logPath]: '/etc/rti_victim.log',
  };
  // A named user, so the driver reads the image's /etc/passwd through a probe container.
  await derivedImage('slipway-test/labelled:1', 'true', ['USER app', ...Object.entries(forged).map(([k, v]) => `LABEL ${k}=${v}`)]);
  const image = await api().json<{ Config: { Labels: Record<string, string> } }>({ method: 'GET', path: '/images/slipway-test%2Flabelled:1/json' });
  assert.equal(image.Config.Labels[HANDLE_LABELS.driver], 'forgedc', 'the control: the image carries the forged labels');
  // Every container made meanwhile is inspected as the engine made it.
  const made: Record<string, string>[] = [];
  const watching: EngineApi = {
    ...api(),
    async json<T>(request: Parameters<EngineApi['json']>[0]): Promise<T> {
      const answer = await api().json<T>(request);
      if (request.method === 'POST' && request.path === '/containers/create') {
        const { Id } = answer as { Id: string };
        made.push((await api().json<{ Config: { Labels: Record<string, string> } }>({ method: 'GET', path: `/containers/${Id}/json` })).Config.Labels);
      }
      return answer;
    },
  };
  assert.match((await readImagePasswd(watching, 'slipway-test/labelled:1')) ?? '', /^app:/m);
  const started = await startContainer(watching, {
    id: 'rti_labelled', release: { kind: 'image', image: 'slipway-test/labelled:1' }, runCommand: 'true', port: 3000, env: { PATH: '/bin' },
    resources: { ...DEFAULT_RESOURCES, memory_mb: 32, pids_max: 16, disk_mb: 8 }, logPath: '/dev/null',
  });
  await removeContainer(api(), started.containerId);
  assert.equal(made.length, 3, 'the probe of readImagePasswd, the probe of startContainer, the instance');
  for (const labels of made) {
    assert.equal(labels[HANDLE_LABELS.driver], '', 'no driver may list it');
    assert.equal(factsFromLabels(labels), null, 'no handle can be made of it');
  }
  assert.equal(made[2]?.[INSTANCE_LABEL], 'rti_labelled');
});
