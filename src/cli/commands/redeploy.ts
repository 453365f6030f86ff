import type { Command } from 'commander';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { parseVersionNumber } from '../parse-args.js';
import { reportPublish, waitForPublish } from '../publish-outcome.js';

/**
 * `slipway redeploy <slug>`: publishes the active version's source again with the current
 * environment, so `slipway env set` reaches the running app; nothing is uploaded.
 *
 * @example
 * slipway env set my-api LOG_LEVEL=debug && slipway redeploy my-api
 */
export function registerRedeployCommand(program: Command, ctx: CommandContext): void {
  program
    .command('redeploy')
    .description("publish a version's source again with the current environment (the active version unless --version)")
    .argument('<slug>', 'deployment slug or id')
    .option('--version <version_number>', 'the version whose source to publish again', parseVersionNumber)
    .option('--no-wait', 'answer at once instead of waiting until the new version is ready or failed')
    .option('--idempotency-key <key>', 'replays the first answer when retried with the same key')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { version?: number; wait: boolean; idempotencyKey?: string; json?: boolean }) => {
      const client = await ctx.client();
      const first = await client.redeploy(slug, { version: flags.version, idempotencyKey: flags.idempotencyKey });
      if (!flags.wait) {
        if (flags.json) return writeJson(ctx.io.stdout, first);
        ctx.io.stdout(`Redeploying ${slug} as v${first.version.version_number}\nOperation: ${first.operation.id}\n`);
        return;
      }
      if (!flags.json) ctx.io.stderr(`Redeploying as v${first.version.version_number}…\n`);
      reportPublish(ctx.io, await waitForPublish(client, first), { slug, json: flags.json === true });
    }));
}
