/**
 * A private nginx (Debian's `nginx-light`) serving a folder on a loopback port, as the
 * reference for the edge: its own config, pid, logs and temp paths in a temp dir, in the
 * foreground (`daemon off`), one worker, tuned as a production static server would be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { childPids, runCommand, stopChild } from './procs.js';

/** A running nginx. */
export interface Nginx {
  port: number;
  /** Master and workers, for CPU accounting. */
  pids(): Promise<number[]>;
  /** The config it runs with, for the report. */
  config: string;
}

/** Options of {@link startNginx}. */
export interface NginxOptions {
  nginx: string;
  port: number;
  /** Files to serve at `/<path>`; written to the temp dir. */
  files: ReadonlyMap<string, Buffer>;
  /** `[taskset, cpuList]` to pin master and worker, or null. */
  pin: [string, string] | null;
  cleanup: Cleanup;
  /**
   * `host:port` to reverse-proxy every request to (keep-alive upstream connections, the Host
   * and X-Forwarded-* headers set as the edge sets them) instead of serving `files`.
   */
  proxyTo?: string;
  /** Also serve the same over TLS (HTTP/1.1) on `port` with this certificate chain and key (PEM files). */
  tls?: { port: number; certFile: string; keyFile: string };
}

/** Temp-path directives this build knows (a module left out rejects its directive). */
async function tempPathDirectives(nginx: string, dir: string): Promise<string[]> {
  const built = await runCommand([nginx, '-V']);
  const kinds = [['client_body', 'client-body', 'http'], ['proxy', 'proxy', 'http_proxy'], ['fastcgi', 'fastcgi', 'http_fastcgi'],
    ['uwsgi', 'uwsgi', 'http_uwsgi'], ['scgi', 'scgi', 'http_scgi']] as const;
  return kinds
    .filter(([, flag, module]) => built.includes(`--http-${flag}-temp-path`) && !built.includes(`--without-${module}_module`))
    .map(([name]) => `${name}_temp_path ${join(dir, 'tmp', name)};`);
}

/** An upstream block and a location that proxy the way the edge does, for a fair race. */
function proxyConfig(proxyTo: string): { http: string; server: string } {
  return {
    http: `upstream app { server ${proxyTo}; keepalive 64; }`,
    server: `location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_buffering off;
    }`,
  };
}

function renderConfig(dir: string, port: number, o: { tempPaths: string[]; proxyTo?: string; tls?: NginxOptions['tls'] }): string {
  const tempPaths = o.tempPaths;
  const proxy = o.proxyTo === undefined ? { http: '', server: '' } : proxyConfig(o.proxyTo);
  const mime = existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : 'types { application/javascript js; text/html html; }';
  return `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  ${mime}
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  ${tempPaths.join('\n  ')}
  ${proxy.http}
  server {
    listen 127.0.0.1:${port};${o.tls === undefined ? '' : `
    listen 127.0.0.1:${o.tls.port} ssl;
    ssl_certificate ${o.tls.certFile};
    ssl_certificate_key ${o.tls.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;`}
    server_name _;
    root ${join(dir, 'www')};
    ${proxy.server}
  }
}
`;
}

/** Starts nginx and waits until it answers; it is stopped and its dir removed by `cleanup`. */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-nginx-'));
  options.cleanup.add('remove the nginx dir', () => rm(dir, { recursive: true, force: true }));
  // Run as root, nginx's worker drops to `nobody`, which must be able to read the files.
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'tmp'), { mode: 0o755 });
  for (const [path, data] of options.files) {
    await mkdir(join(dir, 'www', path, '..'), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, 'www', path), data, { mode: 0o644 });
  }
  const config = renderConfig(dir, options.port, { tempPaths: await tempPathDirectives(options.nginx, dir), proxyTo: options.proxyTo, tls: options.tls });
  await writeFile(join(dir, 'nginx.conf'), config);
  const nginxArgv = [options.nginx, '-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  const argv = options.pin ? [options.pin[0], '-c', options.pin[1], ...nginxArgv] : nginxArgv;
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  child.on('error', (err) => (out += `\n${err.message}`));
  // SIGTERM is nginx's fast shutdown.
  options.cleanup.add('stop nginx', () => stopChild(child));
  try {
    await waitUntilServing(child, options.port);
  } catch (err) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${out}${log}`.trim(), { cause: err });
  }
  const master = child.pid!;
  return { port: options.port, config, pids: async () => [master, ...(await childPids(master))] };
}

async function waitUntilServing(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.signalCode ?? child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) }).then((r) => (void r.body?.cancel(), true), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('not answering after 10 s');
}
