/** Wire objects shaped like docs/api.md's examples, for tests. Test support only. */
import type { Deployment, Operation, PublishResult, SlipwayEvent, Version } from '../../../src/sdk/types.js';

const T0 = '2026-11-22T10:00:00.000Z';

/** A deployment, with `overrides` applied. */
export function fakeDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 'dep_01jtest', slug: 'my-site', name: 'my-site', project_id: 'prj_01jtest', state: 'active', state_reason: null, warnings: [],
    active_version_id: 'ver_3', active_version_number: 3, public_url: 'http://my-site.localhost:8080',
    spa_fallback: false, created_at: T0, updated_at: T0, ...overrides,
  };
}

/** A ready static version number 3, with `overrides` applied. */
export function fakeVersion(overrides: Partial<Version> = {}): Version {
  const n = overrides.version_number ?? 3;
  return {
    id: `ver_${n}`, deployment_id: 'dep_01jtest', version_number: n, kind: 'static', state: 'ready',
    source_sha256: 'a'.repeat(64), artifact_sha256: 'b'.repeat(64), artifact_uri: `blob:sha256:${'b'.repeat(64)}`, artifact_collected: false,
    preview_url: `http://v${n}--my-site.localhost:8080`, build_command: null, output_path: null, env: [], error: null,
    created_by: 'key_01jtest', idempotency_key: null, created_at: T0, started_at: T0, finished_at: T0, ...overrides,
  };
}

/** A publish answer around the given version. */
export function fakePublishResult(version: Version = fakeVersion(), overrides: Partial<PublishResult> = {}): PublishResult {
  const ready = version.state === 'ready';
  return {
    deployment: fakeDeployment(ready ? { active_version_id: version.id, active_version_number: version.version_number } : {}),
    version, services: [], promoted: ready,
    operation: { id: 'op_01jtest', state: version.state === 'failed' ? 'failed' : ready ? 'succeeded' : 'running' },
    ...overrides,
  };
}

/** An operation, with `overrides` applied. */
export function fakeOperation(overrides: Partial<Operation> = {}): Operation {
  return {
    id: 'op_01jtest', kind: 'publish', state: 'succeeded', deployment_id: 'dep_01jtest', version_id: 'ver_3',
    error: null, created_at: T0, finished_at: T0, ...overrides,
  };
}

/** An event, with `overrides` applied. */
export function fakeEvent(overrides: Partial<SlipwayEvent> = {}): SlipwayEvent {
  return {
    id: 'evt_01jtest', type: 'version.ready', deployment_id: 'dep_01jtest', version_id: 'ver_3', actor: 'system',
    reason: 'build finished', data: {}, created_at: T0, ...overrides,
  };
}
