import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { writeFileAtomic } from './atomic-write.js';
import type { EdgeLogger } from './logger.js';
import { followSseStream } from './sse-follower.js';
import type { EdgeCertificate, SniTable } from './tls-sni-table.js';

/** A snapshot of the live certificates, as the server's stream sends it. */
export interface CertificateSnapshot {
  revision: number;
  certificates: EdgeCertificate[];
}

/** The edge's copy of its certificates: `<state dir>/tls/certificates.json`, mode 0600 (it holds keys). */
export function certificatesFile(stateDir: string): string {
  return join(stateDir, 'tls', 'certificates.json');
}

/** Checks one message's shape: anything else is a protocol error that ends the stream. */
export function parseCertificateSnapshot(text: string): CertificateSnapshot {
  const value = JSON.parse(text) as Partial<CertificateSnapshot>;
  const ok = typeof value.revision === 'number' && Array.isArray(value.certificates) && value.certificates.every((c: Partial<EdgeCertificate>) =>
    typeof c.id === 'string' && typeof c.hostname === 'string' && typeof c.cert_pem === 'string' && typeof c.key_pem === 'string' && typeof c.not_after === 'string');
  if (!ok) throw new SlipwayError('invalid_request', 'malformed certificate snapshot');
  return value as CertificateSnapshot;
}

/**
 * The certificates saved by the last run, so HTTPS is served before (or without) the server;
 * null when there are none or the file is unreadable (logged: the stream will bring them).
 */
export async function readSavedCertificates(stateDir: string, logger: EdgeLogger): Promise<CertificateSnapshot | null> {
  const file = certificatesFile(stateDir);
  try {
    return parseCertificateSnapshot(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') logger.warn({ err, file }, 'saved certificates unreadable; waiting for the server');
    return null;
  }
}

async function saveCertificates(stateDir: string, snapshot: CertificateSnapshot): Promise<void> {
  await mkdir(join(stateDir, 'tls'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(certificatesFile(stateDir), JSON.stringify(snapshot), 0o600);
}

/** Options for {@link startCertificateWatcher}. */
export interface CertificateWatcherConfig {
  serverUrl: string;
  /** An internal API key; sent as a Bearer token, never logged. */
  token: string;
  stateDir: string;
  table: SniTable;
  logger: EdgeLogger;
  /** Reconnect delay: starts at `min`, doubles per failure up to `max`. Default 200 ms → 5 s. */
  backoffMs?: { min: number; max: number };
  /** Reconnects when the stream is silent this long (the server's heartbeat is every 15 s); default 90 s. */
  idleTimeoutMs?: number;
}

/** A running certificate stream client. */
export interface CertificateWatcher {
  /** Revision of the certificates served now (-1 before any). */
  readonly revision: number;
  close(): Promise<void>;
}

/**
 * Follows `GET /api/v1/internal/certificates?watch=true` (SSE): each message is a whole
 * snapshot of the live certificates, which replaces the SNI table at once and is then written
 * to disk (temp file, fsync, rename; mode 0600) for the next start. Failures are logged and
 * the stream reconnects with backoff; the certificates held keep serving meanwhile.
 */
export function startCertificateWatcher(config: CertificateWatcherConfig): CertificateWatcher {
  let revision = -1;
  // Writes one after another, so an older snapshot never lands over a newer one.
  let saving: Promise<void> = Promise.resolve();
  const onInvalid = (certificate: EdgeCertificate, err: unknown) =>
    config.logger.warn({ err, certificate: certificate.id, hostname: certificate.hostname }, 'certificate does not load; left out');

  const apply = (snapshot: CertificateSnapshot) => {
    config.table.replace(snapshot.certificates, onInvalid);
    revision = snapshot.revision;
    saving = saving.then(() => saveCertificates(config.stateDir, snapshot))
      .catch((err: unknown) => config.logger.warn({ err }, 'could not save the certificates to disk'));
  };

  const stream = followSseStream({
    url: `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/certificates?watch=true`,
    token: config.token,
    logger: config.logger,
    name: 'certificate stream',
    backoffMs: config.backoffMs,
    idleTimeoutMs: config.idleTimeoutMs,
    onEvent(event) {
      if (event.event !== 'snapshot') return false;
      apply(parseCertificateSnapshot(event.data));
      return true;
    },
  });
  return {
    get revision() {
      return revision;
    },
    async close() {
      await stream.close();
      await saving;
    },
  };
}
