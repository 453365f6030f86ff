import type { Command } from 'commander';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { formatBytes } from '../format.js';
import type { GcReport } from '../../sdk/index.js';

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
    .description('delete releases retention lets go, unreferenced blobs and crash scratch now (operator key)')
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
        // Only where there is an engine with something on it (older servers answer without this part).
        ...(hasDockerPart(report) ? [
          `${verb} ${report.images.count} Docker image(s), ${formatBytes(report.images.bytes)}; kept ${report.kept_images.count}, ${formatBytes(report.kept_images.bytes)}`,
          `${report.dry_run ? 'would prune' : 'pruned'} ${formatBytes(report.build_cache.bytes)} of build cache; kept ${formatBytes(report.build_cache.kept_bytes)}`,
        ] : []),
        ...(report.docker_error ? [`skipped the Docker engine: ${report.docker_error}`] : []),
        `took ${report.duration_ms} ms`,
      ];
      ctx.io.stdout(`${lines.join('\n')}\n`);
    }));
}

function hasDockerPart(report: GcReport): boolean {
  const { images, kept_images: kept, build_cache: cache } = report as Partial<GcReport>;
  if (!images || !kept || !cache) return false;
  return images.count + kept.count > 0 || cache.bytes + cache.kept_bytes > 0;
}
