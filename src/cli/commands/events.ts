import type { Command } from 'commander';
import { type SlipwayEvent } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { formatTime } from '../format.js';

function eventLine(e: SlipwayEvent): string {
  return `${formatTime(e.created_at)}  ${e.type.padEnd(22)}  ${e.actor}${e.reason ? `  ${e.reason}` : ''}\n`;
}

/**
 * `slipway events <slug> [--follow]`: the deployment's recent events, oldest first so the
 * newest ends up next to the prompt; `--follow` keeps streaming new ones. With `--follow
 * --json` each event is one line of JSON, since a stream has no single document to print.
 *
 * @example
 * slipway events my-site --follow
 */
export function registerEventsCommand(program: Command, ctx: CommandContext): void {
  program
    .command('events')
    .description("show a deployment's events; --follow streams new ones")
    .argument('<slug>', 'deployment slug or id')
    .option('--follow', 'keep streaming new events')
    .option('--json', 'print the API data as JSON (one event per line with --follow)')
    .action(handleErrors(ctx.io, async (slug: string, flags: { follow?: boolean; json?: boolean }) => {
      const client = await ctx.client();
      if (flags.follow) {
        for await (const event of client.followEvents(slug)) {
          ctx.io.stdout(flags.json ? `${JSON.stringify(event)}\n` : eventLine(event));
        }
        return;
      }
      const page = await client.listEvents(slug);
      if (flags.json) return writeJson(ctx.io.stdout, page.data);
      if (page.data.length === 0) ctx.io.stdout(`No events for ${slug} yet.\n`);
      for (const event of [...page.data].reverse()) ctx.io.stdout(eventLine(event));
    }));
}
