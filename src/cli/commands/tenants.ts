import type { Command } from 'commander';
import { collectAll, type SlipwayClient, type Tenant } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { EXIT_USAGE, handleErrors, ReportedFailure, type CommandContext } from '../command-context.js';
import { formatTable, formatTime } from '../format.js';

interface JsonFlag {
  json?: boolean;
}

/** A tenant named by id (`ten_…`) or by slug, which the operator's list resolves. */
export async function resolveTenantId(client: SlipwayClient, idOrSlug: string): Promise<string> {
  if (idOrSlug.startsWith('ten_')) return idOrSlug;
  const all = await collectAll((cursor) => client.listTenants({ cursor, limit: 100 }));
  // Not found: the API's own 404 for the name, so the message and exit code are the usual ones.
  return all.find((t) => t.slug === idOrSlug)?.id ?? idOrSlug;
}

function printTenant(ctx: CommandContext, verb: string, t: Tenant): void {
  ctx.io.stdout(`${verb} tenant ${t.slug} (${t.id}): ${t.state}.\n`);
}

/**
 * `slipway tenants create|list|suspend|resume|delete`: the operator key's tenants.
 *
 * @example
 * slipway tenants create acme --display-name "Acme Inc."
 * slipway tenants suspend acme
 */
export function registerTenantsCommand(program: Command, ctx: CommandContext): void {
  const tenants = program.command('tenants').description('manage tenants (operator key)');
  tenants
    .command('create')
    .description('create a tenant; its apps are served at <app>--<slug>.<domain>')
    .argument('<slug>', 'DNS label without "--", at most 20 characters')
    .option('--display-name <name>', 'the name shown for it (default: the slug)')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: JsonFlag & { displayName?: string }) => {
      const tenant = await (await ctx.client()).createTenant({ slug, displayName: flags.displayName });
      if (flags.json) return writeJson(ctx.io.stdout, tenant);
      printTenant(ctx, 'Created', tenant);
      ctx.io.stdout(`Give it a key with: slipway keys create <name> --role admin --tenant ${tenant.id}\n`);
    }));
  tenants
    .command('list')
    .description('list every tenant, newest first')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (flags: JsonFlag) => {
      const client = await ctx.client();
      const all = await collectAll((cursor) => client.listTenants({ cursor, limit: 100 }));
      if (flags.json) return writeJson(ctx.io.stdout, all);
      ctx.io.stdout(formatTable(['SLUG', 'ID', 'STATE', 'NAME', 'CREATED'], all.map((t) => [t.slug, t.id, t.state, t.display_name, formatTime(t.created_at)])));
    }));
  for (const [name, description, verb] of [
    ['suspend', "stop a tenant's apps and serve its suspension page; nothing is deleted", 'Suspended'],
    ['resume', "start a suspended tenant's apps again", 'Resumed'],
  ] as const) {
    tenants
      .command(name)
      .description(description)
      .argument('<tenant>', 'tenant slug or id')
      .option('--json', 'print the API data as JSON')
      .action(handleErrors(ctx.io, async (tenant: string, flags: JsonFlag) => {
        const client = await ctx.client();
        const id = await resolveTenantId(client, tenant);
        const done = name === 'suspend' ? await client.suspendTenant(id) : await client.resumeTenant(id);
        if (flags.json) return writeJson(ctx.io.stdout, done);
        printTenant(ctx, verb, done);
      }));
  }
  tenants
    .command('delete')
    .description('delete a tenant: its deployments, hosts and keys go')
    .argument('<tenant>', 'tenant slug or id')
    .option('--yes', 'confirm: this takes every app of the tenant off the web')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (tenant: string, flags: JsonFlag & { yes?: boolean }) => {
      if (!flags.yes) {
        ctx.io.stderr(`error: deleting ${tenant} deletes its deployments and revokes its keys; run again with --yes to confirm\n`);
        throw new ReportedFailure(EXIT_USAGE);
      }
      const client = await ctx.client();
      const done = await client.deleteTenant(await resolveTenantId(client, tenant));
      if (flags.json) return writeJson(ctx.io.stdout, done);
      printTenant(ctx, 'Deleted', done);
    }));
}
