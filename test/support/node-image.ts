/**
 * A Node.js image made on the spot, since no registry is reachable: the host's own `node`, the
 * shared libraries it links (and the dynamic loader), busybox-static as `/bin/sh`, an
 * `/etc/passwd` with a non-root user, `/tmp` at 1777 and an empty `/app` as the working folder.
 * `nodeAppImage` then puts an app's files into `/app` of a new image from it (a container's
 * file copy and a commit: no second import of the 100 MB base).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OWNER_LABEL } from '../../src/runtime/docker/engine.js';
import type { EngineApi } from '../../src/runtime/docker/engine-api.js';
import { importRootfs } from '../../src/runtime/docker/image-archive.js';
import { removeDir } from '../../src/util/temp-dir.js';

/** The base image's reference on a test engine. */
export const NODE_BASE_REF = 'slipway-test/node-base:1';

/** The PATH an instance of the image finds `node` and the shell's tools on. */
export const NODE_IMAGE_PATH = '/usr/bin:/bin';

// busybox applets the suites' run commands use (`exec`, `echo` and `printf` are shell builtins).
const APPLETS = ['sh', 'cat', 'id', 'ls', 'sleep', 'env', 'wget', 'grep', 'head'];

/** Files `binary` needs at run time: the libraries `ldd` names and the loader, as absolute paths. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const paths = new Set<string>();
  for (const line of out.split('\n')) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match) paths.add(match[1] as string);
  }
  return [...paths];
}

function staticBusybox(): string {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) {
    if (existsSync(path) && !readFileSync(path).includes('/lib64/ld-linux')) return path;
  }
  throw new Error('a static busybox is needed for the docker tests: apt-get install busybox-static');
}

const bases = new WeakMap<EngineApi, Promise<string>>();

/** Imports the Node base image onto the engine behind `api` (once per engine); its image id. */
export function nodeBaseImage(api: EngineApi): Promise<string> {
  let base = bases.get(api);
  if (!base) {
    base = importNodeBase(api);
    bases.set(api, base);
  }
  return base;
}

async function importNodeBase(api: EngineApi): Promise<string> {
  const root = await mkdtemp('/tmp/swd-rootfs-');
  try {
    for (const dir of ['bin', 'usr/bin', 'etc', 'app']) await mkdir(join(root, dir), { recursive: true });
    await mkdir(join(root, 'tmp'));
    await chmod(join(root, 'tmp'), 0o1777);
    await copyFile(process.execPath, join(root, 'usr/bin/node'));
    for (const lib of sharedLibraries(process.execPath)) {
      await mkdir(join(root, dirname(lib)), { recursive: true });
      // The file itself, not the symlink ldd named: the image has no other copy to point at.
      await copyFile(lib, join(root, lib));
    }
    await copyFile(staticBusybox(), join(root, 'bin/busybox'));
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/tmp:/bin/sh\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:10001:\n');
    // GNU tar, streamed: the rootfs is over 100 MB, and node-tar's portable mode drops /tmp's mode bits.
    const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => tar.once('close', resolve));
    const id = await importRootfs(api, tar.stdout, { ref: NODE_BASE_REF, changes: ['WORKDIR /app', `ENV PATH=${NODE_IMAGE_PATH}`, 'CMD ["/bin/sh"]'] });
    if ((await exited) !== 0) throw new Error('tar of the node rootfs failed');
    return id;
  } finally {
    await removeDir(root);
  }
}

/**
 * An image `ref` of the Node base with `appDir`'s files in `/app` (readable by every user, owned
 * by root); returns its image id. `changes` are Dockerfile lines for the new image (`USER root`).
 */
export async function nodeAppImage(api: EngineApi, appDir: string, options: { ref: string; changes?: string[] }): Promise<string> {
  const base = await nodeBaseImage(api);
  const created = await api.json<{ Id: string }>({
    method: 'POST',
    path: '/containers/create',
    json: { Image: base, Cmd: ['/bin/sh'], Labels: { [OWNER_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' } },
  });
  try {
    const files = execFileSync('tar', ['-C', appDir, '--numeric-owner', '--owner=0', '--group=0', '--mode=a+rX', '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    await api.json({ method: 'PUT', path: `/containers/${created.Id}/archive`, query: { path: '/app' }, tar: files });
    const [repo, tag = 'latest'] = options.ref.split(':') as [string, string | undefined];
    const committed = await api.json<{ Id: string }>({
      method: 'POST',
      path: '/commit',
      query: { container: created.Id, repo, tag, changes: ['WORKDIR /app', ...(options.changes ?? [])] },
    });
    return committed.Id;
  } finally {
    await api.json({ method: 'DELETE', path: `/containers/${created.Id}`, query: { force: true } });
  }
}
