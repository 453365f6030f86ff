/**
 * A private Docker engine for one test file, and a tiny base image made on the spot (no
 * registry is reachable): busybox-static plus an `/etc/passwd` with a non-root `app` user.
 */
import { execFileSync } from 'node:child_process';
import { after, before } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile, copyFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineApi } from '../../src/runtime/docker/engine-api.js';
import { startDockerEngine, type DockerEngine } from '../../src/runtime/docker/engine.js';
import { cgroupDirsFor, mountsUnder, pidsMentioning } from '../../src/runtime/docker/engine-host.js';
import { importRootfs } from '../../src/runtime/docker/image-archive.js';
import { processAlive } from '../../src/util/process-alive.js';
import { removeDir } from '../../src/util/temp-dir.js';

/**
 * Why docker tests cannot run here, or null when they can. Only a missing dockerd skips them
 * (and says so loudly): everything else that is missing fails them.
 */
export function dockerSkipReason(): string | null {
  try {
    execFileSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' });
    return null;
  } catch {
    const reason = 'SKIPPED: dockerd is not installed (apt-get install --no-install-recommends docker.io); the docker driver is untested on this host';
    console.warn(`\n*** ${reason} ***\n`);
    return reason;
  }
}

/** A started engine and how to remove it and everything it made. */
export interface TestEngine {
  engine: DockerEngine;
  stateDir: string;
  cgroupParent: string;
  cleanup(): Promise<void>;
}

/** Starts a private engine (state under a short /tmp path: the socket path must stay short). */
export async function startTestEngine(): Promise<TestEngine> {
  const stateDir = await mkdtemp('/tmp/swd-');
  const cgroupParent = `slipway-docker-test-${stateDir.slice('/tmp/swd-'.length)}`;
  try {
    const engine = await startDockerEngine({ stateDir, cgroupParent });
    const cleanup = async (): Promise<void> => {
      await engine.stop({ purge: true });
      assertNothingLeft(engine, cgroupParent);
    };
    return { engine, stateDir, cgroupParent, cleanup };
  } catch (err) {
    await removeDir(stateDir);
    throw err;
  }
}

/** Fails when the stopped engine left a process, a mount, a cgroup or its state folder behind. */
function assertNothingLeft(engine: DockerEngine, cgroupParent: string): void {
  const { stateDir } = engine.layout;
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const left = [
    ...(processAlive(engine.pid) ? [`dockerd ${engine.pid}`] : []),
    ...pidsMentioning(stateDir).map((pid) => `process ${pid}`),
    ...mountsUnder(mountinfo, stateDir).map((point) => `mount ${point}`),
    ...cgroupDirsFor(readFileSync('/proc/self/cgroup', 'utf8'), mountinfo, cgroupParent).filter((dir) => existsSync(dir)),
    ...(existsSync(stateDir) ? [stateDir] : []),
  ];
  if (left.length > 0) throw new Error(`the test engine left behind: ${left.join(', ')}`);
}

/** The static busybox binary (Debian's `busybox-static`). */
function staticBusybox(): string {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(path)) continue;
    // A dynamic busybox would need the host's libc inside the image: refuse it plainly.
    if (readFileSync(path).includes('/lib64/ld-linux')) continue;
    return path;
  }
  throw new Error('a static busybox is needed for the docker tests: apt-get install busybox-static');
}

/** Imports a busybox base image `ref` (with `app` = uid 10001, /tmp mode 1777) and returns its id. */
export async function importBusyboxBase(engine: DockerEngine, ref: string): Promise<string> {
  return importBusyboxImage(engine.api, ref);
}

/** {@link importBusyboxBase} into any engine, e.g. the one a test platform started. */
export async function importBusyboxImage(api: EngineApi, ref: string): Promise<string> {
  const root = await mkdtemp('/tmp/swd-rootfs-');
  try {
    await mkdir(join(root, 'bin'));
    await mkdir(join(root, 'etc'));
    await mkdir(join(root, 'tmp'));
    await chmod(join(root, 'tmp'), 0o1777);
    await copyFile(staticBusybox(), join(root, 'bin/busybox'));
    for (const tool of ['sh', 'cat', 'echo', 'id', 'ls', 'sleep', 'touch', 'wget', 'httpd', 'env', 'head', 'grep', 'dd']) {
      await symlink('busybox', join(root, 'bin', tool));
    }
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/tmp:/bin/sh\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:10001:\n');
    // GNU tar, not node-tar: node-tar's portable mode drops /tmp's group and other write bits.
    const tar = execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    return await importRootfs(api, tar, { ref, changes: ['CMD ["/bin/sh"]', 'ENV PATH=/bin'] });
  } finally {
    await removeDir(root);
  }
}

/**
 * Registers the file's `before` and `after`: a private engine with the busybox base imported as
 * `slipway-test/busybox:1`, cleaned up afterwards; nothing when `skip` says why not. Returns
 * the engine, for tests that run only when it started.
 */
export function useBusyboxEngine(skip: string | false): () => TestEngine {
  let engine: TestEngine | undefined;
  before(async () => {
    if (skip) return;
    engine = await startTestEngine();
    await importBusyboxBase(engine.engine, 'slipway-test/busybox:1');
  });
  after(async () => {
    await engine?.cleanup();
  });
  return () => {
    if (!engine) throw new Error('the test engine did not start');
    return engine;
  };
}
