import type { Command } from 'commander';
import { SlipwayError } from '../../core/errors.js';
import type { LogLine } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { parseVersionNumber } from '../parse-args.js';

interface LogsFlags {
  build?: boolean;
  version?: number;
  follow?: boolean;
  limit?: string;
  json?: boolean;
}

/**
 * `slipway logs <slug>`: the output of a dynamic app's instances (newest lines, `--follow` for
 * new ones), or with `--build` a version's build log, the latest version's by default; with
 * `--build --follow` the log of a running build is printed as it grows, until it ends.
 *
 * @example
 * slipway logs my-api --follow
 * slipway logs my-site --build --version 3
 */
export function registerLogsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('logs')
    .description("print a dynamic app's instance output, or with --build a version's build log")
    .argument('<slug>', 'deployment slug or id')
    .option('--build', "the build log instead of the instances' output")
    .option('--version <n>', 'with --build: version number (default: the latest)', parseVersionNumber)
    .option('--follow', 'keep printing new lines (a build log until its build ends)')
    .option('--limit <n>', 'how many of the newest lines to print first (default 100)')
    .option('--json', 'one JSON object per line')
    .action(handleErrors(ctx.io, async (slug: string, flags: LogsFlags) => {
      const client = await ctx.client();
      if (flags.build) return printBuildLog(ctx, slug, flags);
      const limit = flags.limit ? Number(flags.limit) : undefined;
      const print = (l: LogLine) => (flags.json ? writeJson(ctx.io.stdout, l) : ctx.io.stdout(`${l.time} ${l.runtime_instance_id.slice(-6)} ${l.line}\n`));
      if (!flags.follow) {
        for (const l of await client.getLogs(slug, { limit })) print(l);
        return;
      }
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      for await (const l of client.followLogs(slug, { limit, signal: stop.signal })) print(l);
    }));
}

async function printBuildLog(ctx: CommandContext, slug: string, flags: LogsFlags): Promise<void> {
  const client = await ctx.client();
  let versionNumber = flags.version;
  if (versionNumber === undefined) {
    const latest = (await client.listVersions(slug, { limit: 1 })).data[0];
    if (!latest) throw new SlipwayError('version_not_found', `${slug} has no versions yet`, { details: { deployment: slug } });
    versionNumber = latest.version_number;
  }
  if (!flags.follow) {
    const log = await client.getBuildLog(slug, versionNumber);
    if (flags.json) return writeJson(ctx.io.stdout, { version_number: versionNumber, log });
    ctx.io.stdout(log === '' || log.endsWith('\n') ? log : `${log}\n`);
    return;
  }
  // The stored log grows while the build runs: print what is new until the version settles.
  let printed = 0;
  for (;;) {
    const version = await client.getVersion(slug, versionNumber);
    const log = await client.getBuildLog(slug, versionNumber);
    if (log.length > printed) {
      ctx.io.stdout(log.slice(printed));
      printed = log.length;
    }
    if (version.state === 'ready' || version.state === 'failed') return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
