import type { Command } from 'commander';
import { SlipwayError } from '../../core/errors.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { parseVersionNumber } from '../parse-args.js';

/**
 * `slipway logs <slug> --build [--version N]`: prints a version's stored build log, the
 * latest version's by default. `--build` is required so runtime logs can come later under the
 * same command. With `--json` the log is wrapped with the version it belongs to, since the API
 * answers it as plain text.
 *
 * @example
 * slipway logs my-site --build
 * slipway logs my-site --build --version 3
 */
export function registerLogsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('logs')
    .description("print a version's build log (the latest version by default)")
    .argument('<slug>', 'deployment slug or id')
    .requiredOption('--build', 'the build log (the only kind of log so far)')
    .option('--version <n>', 'version number', parseVersionNumber)
    .option('--json', 'print {"version_number", "log"} as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { version?: number; json?: boolean }) => {
      const client = await ctx.client();
      let versionNumber = flags.version;
      if (versionNumber === undefined) {
        const latest = (await client.listVersions(slug, { limit: 1 })).data[0];
        if (!latest) throw new SlipwayError('version_not_found', `${slug} has no versions yet`, { details: { deployment: slug } });
        versionNumber = latest.version_number;
      }
      const log = await client.getBuildLog(slug, versionNumber);
      if (flags.json) return writeJson(ctx.io.stdout, { version_number: versionNumber, log });
      ctx.io.stdout(log === '' || log.endsWith('\n') ? log : `${log}\n`);
    }));
}
