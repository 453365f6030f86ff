import type { Command } from 'commander';
import { writeJson } from '../cli-io.js';
import { handleErrors, ReportedFailure, type CommandContext } from '../command-context.js';
import { formatTime } from '../format.js';
import { parsePositiveInt } from '../parse-args.js';

/**
 * `slipway scale <slug> <n>` and `slipway instances <slug>`: replicas of a dynamic app's web
 * service, and what runs.
 *
 * @example
 * slipway scale my-api 3
 * slipway instances my-api
 */
export function registerScaleCommands(program: Command, ctx: CommandContext): void {
  program
    .command('scale')
    .description("set how many instances of a dynamic app's web service run")
    .argument('<slug>', 'deployment slug or id')
    .argument('<replicas>', 'the number of instances (0: scale to zero, woken by the next request)', parsePositiveInt)
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, replicas: number, flags: { json?: boolean }) => {
      const client = await ctx.client();
      const web = (await client.listServices(slug)).find((s) => s.type === 'web');
      if (!web) {
        ctx.io.stderr(`error: ${slug} has no web service: publish a dynamic app first (service_not_found)\n`);
        throw new ReportedFailure();
      }
      const updated = await client.updateService(web.id, { desired_replicas: replicas });
      if (flags.json) return writeJson(ctx.io.stdout, updated);
      ctx.io.stdout(`Scaled ${slug} to ${updated.desired_replicas} instance(s) (${updated.healthy_instances} healthy now)\n`);
    }));

  program
    .command('instances')
    .description("list a deployment's runtime instances, newest first")
    .argument('<slug>', 'deployment slug or id')
    .option('--all', 'include stopped and failed instances')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { all?: boolean; json?: boolean }) => {
      const all = await (await ctx.client()).listInstances(slug);
      const shown = flags.all ? all : all.filter((i) => i.state !== 'stopped' && i.state !== 'failed');
      if (flags.json) return writeJson(ctx.io.stdout, shown);
      if (shown.length === 0) {
        ctx.io.stdout('No instances.\n');
        return;
      }
      for (const i of shown) {
        ctx.io.stdout(`${i.id}  ${i.state.padEnd(9)}  ${(i.address ?? '-').padEnd(21)}  restarts ${i.restart_count}  ${formatTime(i.updated_at)}  ${i.reason}${i.limits_enforced ? '' : '  (limits NOT enforced)'}\n`);
      }
    }));
}
