import { readFile } from 'node:fs/promises';
import { writeSecretFile } from '../services/bootstrap.js';
import { newSecretsKey, parseSecretsKey, SecretBox } from '../services/secret-box.js';

/**
 * The server's secrets key: SLIPWAY_SECRETS_KEY when given (required when several servers
 * share one database), otherwise `home/secrets.key`, created (0600) on the first start. The
 * file must be backed up with the database: without it the stored secrets cannot be opened.
 */
export async function loadSecretBox(given: string | undefined, keyFile: string): Promise<SecretBox> {
  if (given) return new SecretBox(parseSecretsKey(given));
  const existing = await readFile(keyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing !== undefined) return new SecretBox(parseSecretsKey(existing));
  const key = newSecretsKey();
  await writeSecretFile(keyFile, `${key}\n`);
  return new SecretBox(parseSecretsKey(key));
}
