import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SlipwayError } from '../core/errors.js';

const PREFIX = 'sw1';

/**
 * Seals secret values for storage with AES-256-GCM under the server's secrets key. Each value
 * has its own random IV, and is bound (as associated data) to where it belongs, so a sealed
 * value copied to another deployment or name does not open. The sealed form names the key
 * by a short fingerprint, so a server started with the wrong key says so instead of failing
 * with a bare authentication error.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new SlipwayError('invalid_request', 'the secrets key must be 32 bytes');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /** `sw1.<key id>.<iv>.<tag>.<ciphertext>`, base64url parts. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [PREFIX, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  /** The plain value; `secrets_key_mismatch` when sealed under another key or tampered with. */
  open(sealed: string, context: string): string {
    const [prefix, keyId, iv, tag, ct] = sealed.split('.');
    if (prefix !== PREFIX || !iv || !tag || ct === undefined) throw new SlipwayError('internal_error', 'a stored secret is not in a known format');
    if (keyId !== this.keyId) {
      throw new SlipwayError('secrets_key_mismatch', `a secret was sealed with key ${keyId}, but this server has key ${this.keyId}: start it with the SLIPWAY_SECRETS_KEY it was stored under`);
    }
    const authTag = Buffer.from(tag, 'base64url');
    if (authTag.length !== 16) throw new SlipwayError('secrets_key_mismatch', 'a stored secret has a damaged seal');
    try {
      // A fixed tag length: GCM would otherwise accept a truncated tag, which is easier to forge.
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SlipwayError('secrets_key_mismatch', 'a stored secret does not open with this server\'s key (altered, or moved to another place)');
    }
  }
}

/** Parses SLIPWAY_SECRETS_KEY: 32 bytes as base64 (44 characters) or hex (64). */
export function parseSecretsKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new SlipwayError('invalid_request', 'SLIPWAY_SECRETS_KEY must be 32 bytes, as base64 or 64 hex digits (e.g. `openssl rand -base64 32`)');
  return key;
}

/** A new random key in the form {@link parseSecretsKey} reads. */
export function newSecretsKey(): string {
  return randomBytes(32).toString('base64');
}
