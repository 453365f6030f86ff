import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';

/** Where the CLI finds the API and the key it uses. */
export interface Credentials {
  apiUrl: string;
  token: string;
  /** `env` or the path of the credentials file, for messages. */
  source: string;
}

/** The directory of Slipway's local state: `SLIPWAY_HOME`, else `~/.slipway`. */
export function slipwayHome(env: NodeJS.ProcessEnv): string {
  return env.SLIPWAY_HOME || join(env.HOME || homedir(), '.slipway');
}

/**
 * Finds the API: `SLIPWAY_API_URL` and `SLIPWAY_TOKEN` when both are set, else
 * `<SLIPWAY_HOME or ~/.slipway>/credentials.json`, which the server writes (mode 0600) at its
 * first start as `{"api_url": "http://127.0.0.1:7070", "token": "sk_…"}`.
 *
 * @example
 * const { apiUrl, token } = await resolveCredentials(process.env);
 */
export async function resolveCredentials(env: NodeJS.ProcessEnv): Promise<Credentials> {
  if (env.SLIPWAY_API_URL && env.SLIPWAY_TOKEN) {
    return { apiUrl: env.SLIPWAY_API_URL, token: env.SLIPWAY_TOKEN, source: 'env' };
  }
  const path = join(slipwayHome(env), 'credentials.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const partial = env.SLIPWAY_API_URL || env.SLIPWAY_TOKEN
      ? ' (SLIPWAY_API_URL and SLIPWAY_TOKEN must both be set)'
      : '';
    throw new SlipwayError(
      'unauthorized',
      `no Slipway server found${partial}: start one with \`npm run up\` (it writes ${path}), or set SLIPWAY_API_URL and SLIPWAY_TOKEN`,
      { details: { path } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SlipwayError('invalid_json', `${path} is not valid JSON`, { details: { path }, cause: err });
  }
  const { api_url: apiUrl, token } = (parsed ?? {}) as { api_url?: unknown; token?: unknown };
  if (typeof apiUrl !== 'string' || apiUrl === '' || typeof token !== 'string' || token === '') {
    throw new SlipwayError('invalid_request', `${path} must hold {"api_url": "…", "token": "…"}`, { details: { path } });
  }
  return { apiUrl, token, source: path };
}
