import type { Command } from 'commander';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { formatBytes } from '../format.js';

/**
 * `slipway gc [--dry-run]`: collects garbage now, as the server does every few hours: releases
 * the retention policy lets go, blobs nothing names any more, scratch left by crashes.
 *
 * @example
 * slipway gc --dry-run
 */
export function registerGcCommand(program: Command, ctx: CommandContext): void {
  program
    .command('gc')
    .description('delete releases retention lets go, unreferenced blobs and crash scratch now (admin key)')
    .option('--dry-run', 'only print what would be deleted')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (flags: { dryRun?: boolean; json?: boolean }) => {
      const report = await (await ctx.client()).gc({ dryRun: flags.dryRun === true });
      if (flags.json) return writeJson(ctx.io.stdout, report);
      const verb = report.dry_run ? 'would delete' : 'deleted';
      const lines = [
        `${report.dry_run ? 'Dry run: ' : ''}${verb} the releases of ${report.versions.length} version(s)${report.versions.length > 0 ? ` (records and snapshots kept; redeploy one to build it again)` : ''}`,
        `${verb} ${report.blobs.count} blob(s), ${formatBytes(report.blobs.bytes)}; kept ${report.kept_blobs.count}, ${formatBytes(report.kept_blobs.bytes)}`,
        `${verb} ${report.scratch.entries} scratch entr${report.scratch.entries === 1 ? 'y' : 'ies'} left by crashes, ${formatBytes(report.scratch.bytes)}`,
        `took ${report.duration_ms} ms`,
      ];
      ctx.io.stdout(`${lines.join('\n')}\n`);
    }));
}
