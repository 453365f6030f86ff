import type { Command } from 'commander';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { parseVersionNumber } from '../parse-args.js';

/**
 * `slipway rollback <slug> --to <n>`: makes a ready earlier version active again.
 *
 * @example
 * slipway rollback my-site --to 2
 */
export function registerRollbackCommand(program: Command, ctx: CommandContext): void {
  program
    .command('rollback')
    .description('make an earlier ready version active again')
    .argument('<slug>', 'deployment slug or id')
    .requiredOption('--to <version_number>', 'the version number to make active', parseVersionNumber)
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { to: number; json?: boolean }) => {
      const result = await (await ctx.client()).rollback(slug, { to: flags.to });
      if (flags.json) return writeJson(ctx.io.stdout, result);
      const label = `v${result.version.version_number}`;
      ctx.io.stdout(result.promoted
        ? `Rolled back ${slug} to ${label} → ${result.deployment.public_url}\n`
        : `${slug} ${label}: ${result.version.state}, not active\n`);
    }));
}
