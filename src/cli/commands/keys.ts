import { InvalidArgumentError, type Command } from 'commander';
import { TENANT_KEY_ROLES, type TenantKeyRole } from '../../core/states.js';
import { collectAll } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { formatTable, formatTime } from '../format.js';
import { resolveTenantId } from './tenants.js';

type Role = TenantKeyRole;

function parseRole(value: string): Role {
  if (!(TENANT_KEY_ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`use one of ${TENANT_KEY_ROLES.join(', ')}`);
  return value as Role;
}

interface JsonFlag {
  json?: boolean;
}

/**
 * `slipway keys create|list|revoke`: the API keys of the caller's tenant (an admin key; the
 * operator may name another tenant). A created key's token is printed once and never again.
 *
 * @example
 * slipway keys create ci --role member
 * slipway keys revoke key_01j…
 */
export function registerKeysCommand(program: Command, ctx: CommandContext): void {
  const keys = program.command('keys').description("manage the tenant's API keys (admin key)");
  keys
    .command('create')
    .description('create an API key and print its token, once')
    .argument('<name>', 'what the key is for')
    .option('--role <role>', 'admin, member or read_only', parseRole, 'member')
    .option('--project <id>', 'limit the key to one project')
    .option('--tenant <tenant>', 'operator only: the tenant whose key it is (slug or id)')
    .option('--json', 'print the API data as JSON (with the token)')
    .action(handleErrors(ctx.io, async (name: string, flags: JsonFlag & { role: Role; project?: string; tenant?: string }) => {
      const client = await ctx.client();
      const tenantId = flags.tenant === undefined ? undefined : await resolveTenantId(client, flags.tenant);
      const key = await client.createKey({ name, role: flags.role, projectId: flags.project, tenantId });
      if (flags.json) return writeJson(ctx.io.stdout, key);
      ctx.io.stdout(`Created key ${key.id} (${key.role}${key.project_id ? `, project ${key.project_id}` : ''}):\n${key.token}\n`);
      ctx.io.stderr('This token is not shown again: store it now.\n');
    }));
  keys
    .command('list')
    .description("list the tenant's live keys (never their tokens)")
    .option('--tenant <tenant>', "operator only: another tenant's keys (slug or id)")
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (flags: JsonFlag & { tenant?: string }) => {
      const client = await ctx.client();
      const tenantId = flags.tenant === undefined ? undefined : await resolveTenantId(client, flags.tenant);
      const all = await collectAll((cursor) => client.listKeys({ cursor, limit: 100, tenantId }));
      if (flags.json) return writeJson(ctx.io.stdout, all);
      ctx.io.stdout(formatTable(['ID', 'NAME', 'ROLE', 'PROJECT', 'CREATED'], all.map((k) => [k.id, k.name, k.role, k.project_id ?? '-', formatTime(k.created_at)])));
    }));
  keys
    .command('revoke')
    .description('revoke a key: refused from its next request on')
    .argument('<id>', 'key id (key_…)')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (id: string, flags: JsonFlag) => {
      const key = await (await ctx.client()).revokeKey(id);
      if (flags.json) return writeJson(ctx.io.stdout, key);
      ctx.io.stdout(`Revoked key ${key.id} (${key.name}).\n`);
    }));
}
