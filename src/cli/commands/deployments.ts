import type { Command } from 'commander';
import { collectAll, type Deployment } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { EXIT_USAGE, handleErrors, ReportedFailure, type CommandContext } from '../command-context.js';
import { formatTable, formatTime, formatVersion } from '../format.js';

interface JsonFlag {
  json?: boolean;
}

function statusText(d: Deployment): string {
  const rows: Array<[string, string]> = [
    ['Deployment', `${d.slug} (${d.id})`],
    ['Name', d.name],
    ['State', d.state_reason ? `${d.state}: ${d.state_reason}` : d.state],
    ['Active', d.active_version_id ? `${formatVersion(d.active_version_number)} (${d.active_version_id})` : '-'],
    ['URL', d.public_url],
    ['SPA fallback', d.spa_fallback ? 'on' : 'off'],
    ['Created', formatTime(d.created_at)],
    ['Updated', formatTime(d.updated_at)],
    ...d.warnings.map((w): [string, string] => ['Warning', w]),
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}\n`).join('');
}

interface UpdateFlags extends JsonFlag {
  name?: string;
  spaFallback?: boolean;
}

/**
 * `slipway deployments list|status|update|delete`.
 *
 * @example
 * slipway deployments list
 * slipway deployments status my-site --json
 * slipway deployments update my-site --no-spa-fallback
 * slipway deployments delete my-site --yes
 */
export function registerDeploymentsCommand(program: Command, ctx: CommandContext): void {
  const deployments = program.command('deployments').description('list and inspect deployments');
  deployments
    .command('list')
    .description('list every deployment, newest first')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (flags: JsonFlag) => {
      const client = await ctx.client();
      const all = await collectAll((cursor) => client.listDeployments({ cursor, limit: 100 }));
      if (flags.json) return writeJson(ctx.io.stdout, all);
      if (all.length === 0) {
        ctx.io.stdout('No deployments yet. Create one with: slipway publish <dir> --deployment <slug>\n');
        return;
      }
      const rows = all.map((d) => [d.slug, d.state, formatVersion(d.active_version_number), d.public_url]);
      ctx.io.stdout(formatTable(['SLUG', 'STATE', 'ACTIVE', 'URL'], rows));
    }));
  deployments
    .command('status')
    .description("show one deployment's state, active version and URL")
    .argument('<slug>', 'deployment slug or id')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: JsonFlag) => {
      const deployment = await (await ctx.client()).getDeployment(slug);
      if (flags.json) return writeJson(ctx.io.stdout, deployment);
      ctx.io.stdout(statusText(deployment));
    }));
  deployments
    .command('update')
    .description("change a deployment's name or SPA fallback")
    .argument('<slug>', 'deployment slug or id')
    .option('--name <name>', 'a new display name')
    .option('--spa-fallback', 'serve index.html for paths that match no file (single-page apps)')
    .option('--no-spa-fallback', 'answer 404 for paths that match no file')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: UpdateFlags) => {
      if (flags.name === undefined && flags.spaFallback === undefined) {
        ctx.io.stderr('error: nothing to change: give --name, --spa-fallback or --no-spa-fallback\n');
        throw new ReportedFailure(EXIT_USAGE);
      }
      const updated = await (await ctx.client()).updateDeployment(slug, { name: flags.name, spaFallback: flags.spaFallback });
      if (flags.json) return writeJson(ctx.io.stdout, updated);
      ctx.io.stdout(statusText(updated));
    }));
  deployments
    .command('delete')
    .description('delete a deployment: its URL stops answering and its instances stop (versions and blobs are kept)')
    .argument('<slug>', 'deployment slug or id')
    .option('--yes', 'confirm: this takes the deployment off the web')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: JsonFlag & { yes?: boolean }) => {
      if (!flags.yes) {
        ctx.io.stderr(`error: deleting ${slug} takes it off the web and stops its instances; run again with --yes to confirm\n`);
        throw new ReportedFailure(EXIT_USAGE);
      }
      const removed = await (await ctx.client()).deleteDeployment(slug);
      if (flags.json) return writeJson(ctx.io.stdout, removed);
      ctx.io.stdout(`Deleted ${removed.slug} (${removed.id})\n`);
    }));
}
