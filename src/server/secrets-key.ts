import { readFile } from 'node:fs/promises';
import { SlipwayError } from '../core/errors.js';
import { writeSecretFile } from '../services/bootstrap.js';
import { discardSecretsNotSealedBy, storedSecretKeyIds } from '../services/env-service.js';
import { newSecretsKey, parseSecretsKey, SecretBox } from '../services/secret-box.js';
import { discardTlsKeysNotSealedBy, storedTlsKeyIds } from '../services/tls/sealed-keys.js';
import type { Db } from '../store/store.js';

/** Where the key comes from, and what to do about secrets no key opens. */
export interface SecretsKeyOptions {
  /** SLIPWAY_SECRETS_KEY, when set. */
  given: string | undefined;
  /** `home/secrets.key`, used (and first made) when no key is given. */
  keyFile: string;
  /** SLIPWAY_DISCARD_UNREADABLE_SECRETS=1. */
  discardUnreadable?: boolean;
  warn?: (message: string) => void;
}

/**
 * The server's secrets key: SLIPWAY_SECRETS_KEY when given (required when several servers
 * share one database), otherwise `home/secrets.key`, created (0600) on the first start. The
 * file must be backed up with the database: without it the stored secrets cannot be opened.
 *
 * The server refuses to start (`secrets_key_mismatch`) when the store holds secrets sealed
 * under another key, or when the key file is missing but secrets exist: running on would make
 * every app with a secret unbootable, and a fresh key would hide why. When the key is truly
 * lost, `discardUnreadable` (SLIPWAY_DISCARD_UNREADABLE_SECRETS=1) deletes those values instead.
 */
export async function loadSecretBox(db: Db, options: SecretsKeyOptions): Promise<SecretBox> {
  const { given, keyFile } = options;
  // TLS keys too: the local CA, the ACME accounts and the live certificates' keys are sealed.
  let stored = [...new Set([...(await storedSecretKeyIds(db)), ...(await storedTlsKeyIds(db))])].sort();
  let text = given;
  if (text === undefined) {
    text = await readFile(keyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }
  if (text === undefined && stored.length > 0 && options.discardUnreadable) stored = [];
  if (text === undefined) {
    if (stored.length > 0) {
      throw new SlipwayError('secrets_key_mismatch', `the store holds secrets sealed with key ${stored.join(', ')}, but ${keyFile} is missing: restore it from the backup or set SLIPWAY_SECRETS_KEY (if it is lost, start once with SLIPWAY_DISCARD_UNREADABLE_SECRETS=1)`);
    }
    text = newSecretsKey();
    await writeSecretFile(keyFile, `${text}\n`);
  }
  const box = new SecretBox(parseSecretsKey(text));
  if (options.discardUnreadable) {
    const n = await discardSecretsNotSealedBy(db, box.keyId);
    if (n > 0) options.warn?.(`SLIPWAY_DISCARD_UNREADABLE_SECRETS: deleted ${n} stored secret value(s) no key of this server opens; set them again and redeploy`);
    const tls = await discardTlsKeysNotSealedBy(db, box.keyId);
    if (tls.keys + tls.certificates > 0) {
      options.warn?.(`SLIPWAY_DISCARD_UNREADABLE_SECRETS: deleted ${tls.keys} local CA / ACME account key(s) and retired ${tls.certificates} certificate(s) no key of this server opens; a new local CA must be trusted again`);
    }
    return box;
  }
  const foreign = stored.filter((id) => id !== box.keyId);
  if (foreign.length > 0) {
    const source = given === undefined ? keyFile : 'SLIPWAY_SECRETS_KEY';
    throw new SlipwayError('secrets_key_mismatch', `the store holds secrets sealed with key ${foreign.join(', ')}, but ${source} is key ${box.keyId}: start the server with the key they were stored under (or, if it is lost, once with SLIPWAY_DISCARD_UNREADABLE_SECRETS=1)`);
  }
  return box;
}
