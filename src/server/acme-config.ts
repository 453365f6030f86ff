import { readFileSync } from 'node:fs';
import { SlipwayError } from '../core/errors.js';

/** ACME settings; absent (SLIPWAY_ACME_DIRECTORY_URL unset) means no ACME: the local CA issues instead. */
export interface AcmeConfig {
  /** SLIPWAY_ACME_DIRECTORY_URL: the CA's directory, e.g. `https://acme-v02.api.letsencrypt.org/directory`. */
  directoryUrl: string;
  /** SLIPWAY_ACME_EMAIL: the account's contact address (optional). */
  email: string | undefined;
  /** SLIPWAY_ACME_CA_FILE, read: an extra root (PEM) trusted for the directory's HTTPS. */
  extraCaPem: string | undefined;
  /** SLIPWAY_ACME_MAX_ORDERS_PER_HOUR: orders placed per rolling hour, all servers together. */
  maxOrdersPerHour: number;
  /** SLIPWAY_ACME_MAX_ORDERS_PER_TENANT_PER_HOUR: the same, per tenant. */
  maxOrdersPerTenantPerHour: number;
  /** SLIPWAY_ACME_CHECK_INTERVAL_MS: how often each server looks for domains to issue or renew. */
  checkIntervalMs: number;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new SlipwayError('invalid_request', `${name} must be a whole number ≥ 1, not "${raw}"`, { details: { field: name } });
  }
  return n;
}

/** Reads the SLIPWAY_ACME_* settings; a malformed one stops start-up with a message naming it. */
export function acmeConfig(env: NodeJS.ProcessEnv): AcmeConfig | undefined {
  const directoryUrl = env.SLIPWAY_ACME_DIRECTORY_URL || undefined;
  if (!directoryUrl) return undefined;
  if (!/^https?:\/\//.test(directoryUrl)) {
    throw new SlipwayError('invalid_request', `SLIPWAY_ACME_DIRECTORY_URL must be an http(s) URL, not "${directoryUrl}"`, { details: { field: 'SLIPWAY_ACME_DIRECTORY_URL' } });
  }
  const caFile = env.SLIPWAY_ACME_CA_FILE || undefined;
  let extraCaPem: string | undefined;
  if (caFile) {
    try {
      extraCaPem = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new SlipwayError('invalid_request', `SLIPWAY_ACME_CA_FILE cannot be read: ${(err as Error).message}`, { details: { field: 'SLIPWAY_ACME_CA_FILE' }, cause: err });
    }
  }
  return {
    directoryUrl, email: env.SLIPWAY_ACME_EMAIL || undefined, extraCaPem,
    maxOrdersPerHour: positive(env, 'SLIPWAY_ACME_MAX_ORDERS_PER_HOUR', 100),
    maxOrdersPerTenantPerHour: positive(env, 'SLIPWAY_ACME_MAX_ORDERS_PER_TENANT_PER_HOUR', 20),
    checkIntervalMs: positive(env, 'SLIPWAY_ACME_CHECK_INTERVAL_MS', 30_000),
  };
}
