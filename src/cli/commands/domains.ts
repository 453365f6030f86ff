import { InvalidArgumentError, type Command } from 'commander';
import type { Domain, SlipwayClient } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, ReportedFailure, type CommandContext } from '../command-context.js';
import { lookupHostname } from '../../core/hostname.js';
import { formatTable } from '../format.js';

function parseMaxAge(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number of seconds');
  return n;
}

/** The records that prove ownership, as the owner creates them. */
function instructions(d: Domain): string {
  if (d.verification === null) return '';
  const { dns, http } = d.verification;
  return `To prove ${d.hostname} is yours, create this DNS record:\n\n`
    + `  ${dns.name}  ${dns.type}  "${dns.value}"\n\n`
    + `or serve the token at this URL from your own current web server (status 200, the token as the body),\n`
    + `before pointing the host at Slipway (a host that already resolves to Slipway needs the DNS record):\n\n  ${http.url}\n\n`
    + `Then run \`slipway domains verify\` (it is also retried by itself for 72 hours).\n`;
}

function printDomains(ctx: CommandContext, list: Domain[]): void {
  const rows = list.map((d) => [d.hostname, d.kind, d.state, d.tls_state, d.error ? `${d.error.code}: ${d.error.message}` : '']);
  ctx.io.stdout(formatTable(['HOST', 'KIND', 'STATE', 'TLS', 'ERROR'], rows));
}

/** The domain `host` of deployment `slug`, so a host of another deployment is never verified or removed by mistake. */
async function domainOf(ctx: CommandContext, client: SlipwayClient, target: { slug: string; host: string }): Promise<Domain> {
  const { slug, host } = target;
  const wanted = lookupHostname(host);
  const found = (await client.listDomains(slug)).find((d) => d.hostname === wanted);
  if (found === undefined) {
    ctx.io.stderr(`error: ${wanted} is not a domain of ${slug}: see \`slipway domains list ${slug}\` (domain_not_found)\n`);
    throw new ReportedFailure();
  }
  return found;
}

function reportCheck(ctx: CommandContext, d: Domain): void {
  if (d.state === 'verified' || d.state === 'active') {
    ctx.io.stdout(`${d.hostname} is verified${d.verified_by ? ` (by its ${d.verified_by === 'dns' ? 'DNS TXT record' : 'HTTP token'})` : ''} and served.\n`);
    return;
  }
  // The server answers the last check again when it ran under 10 s ago: say when it ran, so a
  // record created a moment ago is not taken for missing.
  const recent = d.last_checked_at === null ? '' : ` (last checked ${d.last_checked_at}; verify checks again at most every 10 s)`;
  ctx.io.stderr(`${d.hostname} is not verified yet: ${d.error?.message ?? 'no check has run'}${recent}\n\n${instructions(d)}`);
  throw new ReportedFailure();
}

/**
 * `slipway domains add|list|verify|remove <slug> <host>` for custom domains, and
 * `slipway domains add-tenant-base|tenant-bases|remove-tenant-base` for the tenant's base.
 *
 * @example
 * slipway domains add my-site www.example.com
 * slipway domains verify my-site www.example.com
 * slipway domains add-tenant-base apps.example-brand.com
 */
export function registerDomainsCommand(program: Command, ctx: CommandContext): void {
  const domains = program.command('domains').description("a deployment's host names: custom domains, the tenant's base, verification");

  domains
    .command('list')
    .description("list a deployment's hosts: managed, tenant base and custom, with state, TLS state and the last error")
    .argument('<slug>', 'deployment slug or id')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, flags: { json?: boolean }) => {
      const list = await (await ctx.client()).listDomains(slug);
      if (flags.json) return writeJson(ctx.io.stdout, list);
      printDomains(ctx, list);
    }));

  domains
    .command('add')
    .description('claim a custom host name for a deployment and print the DNS record (or HTTP token) that proves it')
    .argument('<slug>', 'deployment slug or id')
    .argument('<host>', 'the host name, e.g. www.example.com')
    .option('--redirect-to <host>', 'redirect (308) every request to this host, same path (apex → www)')
    .option('--https-redirect', 'redirect (308) plain HTTP to HTTPS')
    .option('--hsts-max-age <seconds>', 'send Strict-Transport-Security with this max-age on HTTPS', parseMaxAge)
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, host: string, flags: { redirectTo?: string; httpsRedirect?: boolean; hstsMaxAge?: number; json?: boolean }) => {
      const d = await (await ctx.client()).addDomain(slug, host, { redirectTo: flags.redirectTo, httpsRedirect: flags.httpsRedirect, hstsMaxAge: flags.hstsMaxAge });
      if (flags.json) return writeJson(ctx.io.stdout, d);
      ctx.io.stdout(`Claimed ${d.hostname} for ${slug} (${d.state}).\n\n${instructions(d)}`);
    }));

  domains
    .command('verify')
    .description('check ownership now; exits 1 and prints what was expected and found when it fails')
    .argument('<slug>', 'deployment slug or id')
    .argument('<host>', 'the host name')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, host: string, flags: { json?: boolean }) => {
      const client = await ctx.client();
      const d = await client.verifyDomain((await domainOf(ctx, client, { slug, host })).hostname);
      if (flags.json) return writeJson(ctx.io.stdout, d);
      reportCheck(ctx, d);
    }));

  domains
    .command('remove')
    .description('release a custom host name: it stops being served and can be claimed again')
    .argument('<slug>', 'deployment slug or id')
    .argument('<host>', 'the host name')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (slug: string, host: string, flags: { json?: boolean }) => {
      const client = await ctx.client();
      const d = await client.removeDomain((await domainOf(ctx, client, { slug, host })).hostname);
      if (flags.json) return writeJson(ctx.io.stdout, d);
      ctx.io.stdout(`Released ${d.hostname}.\n`);
    }));

  domains
    .command('add-tenant-base')
    .description("claim a base for the tenant's deployments: once verified each is served at <slug>.<base> (tenant admins)")
    .argument('<host>', 'the base, e.g. apps.example-brand.com (no "*.")')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (host: string, flags: { json?: boolean }) => {
      const d = await (await ctx.client()).addTenantDomain(host);
      if (flags.json) return writeJson(ctx.io.stdout, d);
      ctx.io.stdout(`Claimed ${d.hostname} as the tenant's base (${d.state}). Point *.${d.hostname} at the edge.\n\n${instructions(d)}`
        .replace('`slipway domains verify`', `\`slipway domains verify-tenant-base ${d.hostname}\``));
    }));

  domains
    .command('verify-tenant-base')
    .description("check the tenant base's ownership now")
    .argument('<host>', 'the base')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (host: string, flags: { json?: boolean }) => {
      const d = await (await ctx.client()).verifyDomain(lookupHostname(host));
      if (flags.json) return writeJson(ctx.io.stdout, d);
      reportCheck(ctx, d);
    }));

  domains
    .command('tenant-bases')
    .description("list the tenant's bases")
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (flags: { json?: boolean }) => {
      const list = await (await ctx.client()).listTenantDomains();
      if (flags.json) return writeJson(ctx.io.stdout, list);
      printDomains(ctx, list);
    }));

  domains
    .command('remove-tenant-base')
    .description("release the tenant's base: its <slug>.<base> hosts stop being served")
    .argument('<host>', 'the base')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (host: string, flags: { json?: boolean }) => {
      const d = await (await ctx.client()).removeDomain(lookupHostname(host));
      if (flags.json) return writeJson(ctx.io.stdout, d);
      ctx.io.stdout(`Released ${d.hostname}.\n`);
    }));

  domains
    .command('history')
    .description('which deployment and version a custom host served at a time')
    .argument('<host>', 'the host name')
    .option('--at <time>', 'an ISO 8601 time (default now)')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (host: string, flags: { at?: string; json?: boolean }) => {
      const h = await (await ctx.client()).domainHistory(lookupHostname(host), flags.at);
      if (flags.json) return writeJson(ctx.io.stdout, h);
      ctx.io.stdout(h.deployment_id === null ? `${h.hostname} served nothing at ${h.at}.\n`
        : `${h.hostname} served ${h.deployment_slug ?? h.deployment_id} version ${h.version_number ?? '(none active)'} at ${h.at}.\n`);
    }));
}
