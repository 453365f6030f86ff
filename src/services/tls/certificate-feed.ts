import type { ServiceContext } from '../context.js';
import { currentCertificateRevision, liveCertificates, type LiveCertificate } from './certificate-store.js';

/** What an edge receives: every live certificate, whole, at a revision. */
export interface CertificateSnapshot {
  revision: number;
  certificates: LiveCertificate[];
}

type Listener = (snapshot: CertificateSnapshot) => void;

/**
 * How often a feed with watchers reads the certificate revision even without a notification
 * (as the route feed does, route-feed.ts): a lost NOTIFY delays a new certificate by this.
 */
export const CERTIFICATE_BACKSTOP_MS = 1000;

/**
 * The live certificates as the edges see them: a watcher gets a snapshot at once and a new
 * whole snapshot whenever the certificate revision moves (every change bumps it in its own
 * transaction, certificate-store.ts). Woken by the notifier's `certificates` topic (this
 * server's saves and other servers' alike) and by a 1 s backstop read while anyone watches.
 * Snapshots, not changes: there are few certificates, and a snapshot cannot be applied out of
 * order into a wrong state.
 */
export class CertificateFeed {
  private revision = -1;
  private readonly listeners = new Set<Listener>();
  private readonly offs: Array<() => void>;
  private backstop: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ServiceContext) {
    const wake = () => this.kick();
    this.offs = [ctx.notifier.on('certificates', wake), ctx.notifier.on('resync', wake)];
  }

  /** Runs `step` after every step before it, so snapshots go out in revision order. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch((err: unknown) => this.ctx.logger.error({ err }, 'certificate feed update failed'));
    return next;
  }

  private kick(): void {
    this.enqueue(() => this.catchUp()).catch(() => undefined);
  }

  /** Subscribes: `listener` gets a snapshot now and one after every change. Returns the unsubscribe. */
  async watch(listener: Listener): Promise<{ close(): void }> {
    await this.enqueue(async () => {
      const snapshot = await this.read();
      this.revision = Math.max(this.revision, snapshot.revision);
      listener(snapshot);
      this.listeners.add(listener);
      this.backstop ??= setInterval(() => this.kick(), CERTIFICATE_BACKSTOP_MS).unref();
    });
    return {
      close: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) {
          clearInterval(this.backstop);
          this.backstop = undefined;
        }
      },
    };
  }

  /** The live certificates now, once, without subscribing (in order with the snapshots sent). */
  snapshot(): Promise<CertificateSnapshot> {
    let read: CertificateSnapshot | undefined;
    return this.enqueue(async () => {
      read = await this.read();
    }).then(() => read!);
  }

  /** Stops listening for changes. */
  stop(): void {
    for (const off of this.offs) off();
    this.listeners.clear();
    clearInterval(this.backstop);
    this.backstop = undefined;
  }

  private async read(): Promise<CertificateSnapshot> {
    const db = this.ctx.store.db;
    // The revision first: a change committed between the two reads is sent again, never lost.
    const revision = await currentCertificateRevision(db);
    // A key this server cannot open is left out (not the whole snapshot): said once per read.
    const onUnreadable = (id: string, err: unknown) => this.ctx.logger.error({ err, certificate: id }, 'a live certificate\'s key does not open with this server\'s secrets key; edges will not serve it');
    return { revision, certificates: await liveCertificates(db, this.ctx.secrets, { onUnreadable }) };
  }

  private async catchUp(): Promise<void> {
    if (this.listeners.size === 0) return;
    const current = await currentCertificateRevision(this.ctx.store.db);
    if (current <= this.revision) return;
    const snapshot = await this.read();
    this.revision = snapshot.revision;
    for (const listener of this.listeners) listener(snapshot);
  }
}
