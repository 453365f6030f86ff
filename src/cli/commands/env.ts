import { InvalidArgumentError, type Command } from 'commander';
import type { EnvVar } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, ReportedFailure, type CommandContext } from '../command-context.js';
import { formatTime } from '../format.js';

/** `NAME=value`, or a bare `NAME` whose value comes from standard input. */
function parseAssignment(arg: string, previous: string[] = []): string[] {
  if (arg.startsWith('=')) throw new InvalidArgumentError(`"${arg}" has no name: use NAME=value`);
  return [...previous, arg];
}

/**
 * `slipway env <slug>`, `slipway env set <slug> NAME=value…` and `slipway env unset <slug>
 * NAME…`: a deployment's environment variables and secrets. Changes reach the versions
 * published afterwards, so the command points to `slipway redeploy`.
 *
 * @example
 * slipway env set my-api LOG_LEVEL=debug REGION=eu
 * printf %s "$TOKEN" | slipway env set my-api --secret API_TOKEN
 * slipway env my-api
 */
export function registerEnvCommand(program: Command, ctx: CommandContext): void {
  const env = program
    .command('env')
    .description("list a deployment's environment variables (secret values are never shown)")
    .argument('<slug>', 'deployment slug or id')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { json?: boolean }) => {
      const vars = await (await ctx.client()).listEnv(slug);
      if (flags.json) return writeJson(ctx.io.stdout, vars);
      printVars(ctx, vars);
    }));

  env
    .command('set')
    .description('set variables, for versions published from now on; a bare NAME reads its value from stdin')
    .argument('<slug>', 'deployment slug or id')
    .argument('<assignments...>', 'NAME=value, or NAME alone to read the value from stdin', parseAssignment)
    .option('--secret', 'store the values as secrets: write-only, encrypted at rest, masked in logs')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, assignments: string[], flags: { secret?: boolean; json?: boolean }) => {
      // Without --secret the field is left out: a secret given a new value stays secret.
      const kind = flags.secret ? { secret: true } : {};
      const set: Record<string, { value: string; secret?: boolean }> = {};
      const fromStdin = assignments.filter((a) => !a.includes('='));
      if (fromStdin.length > 1) {
        ctx.io.stderr('error: only one NAME can read its value from stdin (invalid_request)\n');
        throw new ReportedFailure();
      }
      for (const a of assignments) {
        const eq = a.indexOf('=');
        if (eq > 0) set[a.slice(0, eq)] = { value: a.slice(eq + 1), ...kind };
      }
      if (fromStdin[0]) {
        if (!ctx.io.readStdin) {
          ctx.io.stderr(`error: no standard input to read ${fromStdin[0]} from: use ${fromStdin[0]}=value (invalid_request)\n`);
          throw new ReportedFailure();
        }
        // One trailing newline is what `echo` adds, never part of the value.
        set[fromStdin[0]] = { value: (await ctx.io.readStdin()).replace(/\r?\n$/, ''), ...kind };
      }
      const vars = await (await ctx.client()).updateEnv(slug, { set });
      if (flags.json) return writeJson(ctx.io.stdout, vars);
      ctx.io.stdout(`Set ${Object.keys(set).join(', ')} on ${slug}. Run \`slipway redeploy ${slug}\` for the running app to get it.\n`);
    }));

  env
    .command('unset')
    .description('remove variables, for versions published from now on')
    .argument('<slug>', 'deployment slug or id')
    .argument('<names...>', 'variable names')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, names: string[], flags: { json?: boolean }) => {
      const vars = await (await ctx.client()).updateEnv(slug, { unset: names });
      if (flags.json) return writeJson(ctx.io.stdout, vars);
      ctx.io.stdout(`Unset ${names.join(', ')} on ${slug}. Run \`slipway redeploy ${slug}\` for the running app to lose it.\n`);
    }));
}

function printVars(ctx: CommandContext, vars: EnvVar[]): void {
  if (vars.length === 0) {
    ctx.io.stdout('No variables.\n');
    return;
  }
  const width = Math.max(...vars.map((v) => v.name.length));
  for (const v of vars) {
    ctx.io.stdout(`${v.name.padEnd(width)}  ${v.secret ? '(secret)' : v.value}  ${formatTime(v.updated_at)}\n`);
  }
}
