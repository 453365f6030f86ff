import type { Command } from 'commander';
import { inspectHost, type HostReport } from '../../runtime/local/host-report.js';
import { homePaths, loadConfig } from '../../server/config.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, ReportedFailure, type CommandContext } from '../command-context.js';
import { formatDockerReport, inspectDocker, ROOT_BUILDS_WARNING, type DockerReport } from '../docker-report.js';

/**
 * `slipway doctor`: what this host gives Slipway and what each missing piece costs, ending in a
 * verdict on how apps would run. It inspects the local host only (no server needed), with the
 * same probe the agent uses and the same settings (SLIPWAY_CGROUP_ROOT, SLIPWAY_RUNTIME_ISOLATION,
 * the API and edge ports). With SLIPWAY_RUNTIME_DRIVER=docker it also reports Docker's engine.
 * Exits 1 when apps would be refused (root without the sandbox tools) or `up` would refuse to
 * start (docker selected, dockerd missing or user-namespace remapping impossible), so `slipway doctor && slipway up` stops there; 0 for
 * every other verdict.
 *
 * @example
 * slipway doctor
 * slipway doctor --json
 */
export function registerDoctorCommand(program: Command, ctx: CommandContext): void {
  program
    .command('doctor')
    .description('check what this host offers for running apps isolated, and what is missing')
    .option('--json', 'print the report as JSON')
    .action(handleErrors(ctx.io, async (flags: { json?: boolean }) => {
      const config = loadConfig(ctx.io.env);
      const report = await inspectHost({
        cgroupRoot: config.cgroupRoot, isolation: config.runtimeIsolation,
        ports: [
          { name: 'API', host: config.apiHost, port: config.apiPort },
          { name: 'edge', host: config.httpHost, port: config.httpPort },
        ],
      });
      const docker = config.runtimeDriver === 'docker'
        ? inspectDocker({ stateDir: homePaths(config.home).docker, path: ctx.io.env.PATH ?? process.env.PATH, usernsRemap: config.dockerUsernsRemap, home: config.home })
        : null;
      if (flags.json) writeJson(ctx.io.stdout, docker ? { ...report, docker } : report);
      else ctx.io.stdout(formatReport(report, docker));
      if (report.verdict === 'refused' || docker?.refused) throw new ReportedFailure();
    }));
}

const mark = (ok: boolean): string => (ok ? 'ok' : 'MISSING').padEnd(7);

/** The report as text: one line per fact, the costs, then the verdict (and Docker's, when selected). */
export function formatReport(r: HostReport, docker: DockerReport | null = null): string {
  const lines: string[] = [];
  lines.push(`${mark(r.root)} root${r.root ? '' : ` (uid ${r.uid ?? '?'})`}`);
  for (const [name, path] of Object.entries(r.tools)) {
    const extra = name === 'bwrap' && path ? ` (${r.bubblewrap.version ?? 'version unknown'}, tmpfs --size ${r.bubblewrap.tmpfs_size ? 'yes' : 'no'})` : '';
    lines.push(`${mark(path !== null)} ${name}${path ? ` ${path}` : ''}${extra}`);
  }
  const c = r.cgroup;
  const v2 = c.v2_controllers === null ? 'no v2 hierarchy' : `v2 controllers offered: ${c.v2_controllers.join(' ') || 'none'}`;
  lines.push(`${mark(c.version !== 'none')} cgroup ${c.version} at ${c.root} (v1 mounted: ${c.v1_controllers.join(', ') || 'none'}; ${v2})`);
  const u = r.user_namespaces;
  lines.push(`${mark(u.usable)} user namespaces (unprivileged_userns_clone ${u.unprivileged_userns_clone ?? 'n/a'}, max_user_namespaces ${u.max_user_namespaces ?? 'n/a'})`);
  const l = r.loop_devices;
  lines.push(`${mark(l.loop_control && l.losetup !== null && l.mkfs_ext4 !== null)} loop devices (/dev/loop-control ${l.loop_control ? 'yes' : 'no'}, losetup ${l.losetup ? 'yes' : 'no'}, mkfs.ext4 ${l.mkfs_ext4 ? 'yes' : 'no'})`);
  for (const p of r.ports) lines.push(`${(p.free ? 'ok' : 'BUSY').padEnd(7)} port ${p.port} (${p.name}) on ${p.host}${p.free ? ' is free' : `: ${p.error}`}`);
  if (docker) lines.push(...formatDockerReport(docker));
  const costs = docker?.cost ? [...r.costs, docker.cost] : r.costs;
  if (costs.length > 0) {
    lines.push('', 'What is missing costs:');
    for (const cost of costs) lines.push(`  - ${cost}`);
  }
  lines.push('', `verdict: ${r.summary}`);
  if (docker) {
    lines.push(!docker.dockerd
      ? 'images: REFUSED: `slipway up` does not start without dockerd (SLIPWAY_RUNTIME_DRIVER=docker)'
      : !docker.docker_init ? 'images: REFUSED: Dockerfile apps cannot start without docker-init (SLIPWAY_RUNTIME_DRIVER=docker)'
      : docker.refused ? 'images: REFUSED: `slipway up` does not start the Docker engine without user-namespace remapping (SLIPWAY_DOCKER_USERNS=off overrides)'
      : docker.userns.mode === 'off' ? `images: Dockerfile apps build and run as containers on a Slipway-owned dockerd ${docker.version ?? ''}; WARNING: ${ROOT_BUILDS_WARNING}`
      : `images: Dockerfile apps build and run as containers on a Slipway-owned dockerd ${docker.version ?? ''}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
