import type { Command } from 'commander';
import { collectAll, type Deployment } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
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

/**
 * `slipway deployments list` and `slipway deployments status <slug>`.
 *
 * @example
 * slipway deployments list
 * slipway deployments status my-site --json
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
}
