import type { Command } from 'commander';
import { PUBLISH_SETTINGS, packDirectory, type PublishSetting } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { reportPublish, waitForPublish } from '../publish-outcome.js';
import { ensureDeployment } from '../ensure-deployment.js';
import { formatBytes } from '../format.js';
import { InvalidArgumentError } from 'commander';
import { parsePositiveInt } from '../parse-args.js';

interface PublishFlags {
  deployment: string;
  wait?: boolean;
  buildCommand?: string;
  outputPath?: string;
  idempotencyKey?: string;
  spa?: boolean;
  json?: boolean;
  kind?: 'auto' | 'static' | 'dynamic';
  runCommand?: string;
  port?: number;
  asIs?: boolean;
  staticInclude?: string;
  healthCheckPath?: string;
  replicas?: number;
  memory?: number;
  set: string[];
}

/** `--set name=value`, repeatable: any runtime setting by its API name. */
function collectSetting(value: string, previous: string[]): string[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || !(PUBLISH_SETTINGS as readonly string[]).includes(value.slice(0, eq))) {
    throw new InvalidArgumentError(`expected name=value with name one of ${PUBLISH_SETTINGS.join(', ')}`);
  }
  return [...previous, value];
}

function parseSettings(flags: PublishFlags): Partial<Record<PublishSetting, string | number>> {
  const out: Partial<Record<PublishSetting, string | number>> = {};
  for (const pair of flags.set) {
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq) as PublishSetting] = pair.slice(eq + 1);
  }
  if (flags.healthCheckPath !== undefined) out.health_check_path = flags.healthCheckPath;
  if (flags.replicas !== undefined) out.replicas = flags.replicas;
  if (flags.memory !== undefined) out.memory_mb = flags.memory;
  return out;
}

/**
 * `slipway publish <dir> --deployment <slug>`: packs a directory and publishes it as a new
 * version, creating the deployment on first use.
 *
 * @example
 * slipway publish ./site --deployment my-site --wait
 * slipway publish . --deployment my-app --build-command "npm run build" --output-path dist --json
 */
export function registerPublishCommand(program: Command, ctx: CommandContext): void {
  program
    .command('publish')
    .description('publish a directory as a new version of a deployment (created if missing)')
    .argument('<dir>', 'the directory to publish')
    .requiredOption('--deployment <slug>', 'the deployment to publish to')
    .option('--wait', 'wait until the version is ready or failed')
    .option('--build-command <cmd>', 'command that builds the source on the server')
    .option('--output-path <path>', 'folder to serve, relative to <dir>')
    .option('--idempotency-key <key>', 'makes a retried publish replay the first answer')
    .option('--spa', 'serve /index.html for unknown paths (single-page app)')
    .option('--kind <kind>', 'auto (default), static or dynamic')
    .option('--run-command <cmd>', 'makes it a dynamic app: the command that starts it')
    .option('--port <n>', 'the port the app listens on (default: the framework\'s convention, see docs/detection.md)', parsePositiveInt)
    .option('--as-is', 'publish the files exactly as they are: no detection, no build (a static site)')
    .option('--static-include <globs>', 'comma-separated globs a static site keeps although they are left out by default, e.g. "*.map,.nojekyll"')
    .option('--health-check-path <path>', 'path that answers 2xx when the app is healthy (default /)')
    .option('--replicas <n>', 'instances to run (default 1)', parsePositiveInt)
    .option('--memory <mb>', 'memory limit per instance in MB (default 512)', parsePositiveInt)
    .option('--set <name=value>', 'any other runtime setting by its API name (repeatable), e.g. health_grace_period_ms=5000', collectSetting, [])
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (dir: string, flags: PublishFlags) => {
      const { io } = ctx;
      const progress = (line: string): void => { if (!flags.json) io.stderr(`${line}\n`); };
      // Pack first: a wrong directory should fail before a deployment is created for it.
      const keepPath = flags.buildCommand === undefined ? flags.outputPath : undefined;
      const archive = await packDirectory(dir, { keepPath });
      const client = await ctx.client();
      const { created } = await ensureDeployment(client, flags.deployment, flags.spa === true);
      if (created) progress(`Created deployment ${flags.deployment}`);
      progress(`Uploading ${formatBytes(archive.length)}…`);
      const first = await client.publish(flags.deployment, archive, {
        buildCommand: flags.buildCommand,
        outputPath: flags.outputPath,
        idempotencyKey: flags.idempotencyKey,
        kind: flags.kind,
        runCommand: flags.runCommand,
        port: flags.port,
        asIs: flags.asIs,
        staticInclude: flags.staticInclude?.split(',').map((g) => g.trim()).filter((g) => g !== ''),
        settings: parseSettings(flags),
      });
      const label = `v${first.version.version_number}`;
      if (!flags.wait) {
        if (flags.json) return writeJson(io.stdout, first);
        io.stdout(`Published ${flags.deployment} ${label}: ${first.version.state}\n`);
        io.stdout(`Operation: ${first.operation.id}\n`);
        io.stdout(`URL: ${first.deployment.public_url}\n`);
        return;
      }
      if (first.operation.state === 'running') progress(flags.runCommand || flags.kind === 'dynamic' ? 'Building and starting…' : 'Building…');
      reportPublish(io, await waitForPublish(client, first), { slug: flags.deployment, json: flags.json === true });
    }));
}
