import type { Command } from 'commander';
import { collectAll } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { formatTable, formatTime, formatVersion } from '../format.js';

/**
 * `slipway versions <slug>`: every version of a deployment, newest first, with the active one
 * marked.
 *
 * @example
 * slipway versions my-site
 * slipway versions my-site --json
 */
export function registerVersionsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('versions')
    .description('list the versions of a deployment, newest first')
    .argument('<slug>', 'deployment slug or id')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { json?: boolean }) => {
      const client = await ctx.client();
      const versions = await collectAll((cursor) => client.listVersions(slug, { cursor, limit: 100 }));
      if (flags.json) return writeJson(ctx.io.stdout, versions);
      if (versions.length === 0) {
        ctx.io.stdout(`No versions of ${slug} yet.\n`);
        return;
      }
      const { active_version_id: activeId } = await client.getDeployment(slug);
      const rows = versions.map((v) => [
        // A collected release is redeployed, not rolled back to: say so where versions are picked.
        formatVersion(v.version_number), v.artifact_collected ? `${v.state} (release collected)` : v.state, v.kind, formatTime(v.created_at), v.id === activeId ? '* active' : '',
      ]);
      ctx.io.stdout(formatTable(['VERSION', 'STATE', 'KIND', 'CREATED', 'ACTIVE'], rows));
    }));
}
