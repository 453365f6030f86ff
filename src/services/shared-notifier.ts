import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store, StoreChannel } from '../store/store.js';
import { isNotifierTopic, Notifier, type NotifierTopics } from './notifier.js';

/** The one PostgreSQL channel every server's notifications travel on. */
export const NOTIFY_CHANNEL = 'slipway_notify';

/**
 * A {@link Notifier} for servers sharing one store: `emit` delivers here at once and sends a
 * `NOTIFY` (`[server instance id, topic, payload]`, a few bytes: payloads are ids); one
 * listening connection per server delivers the other servers' notifications as `remote` and
 * drops its own echo. When that connection drops and comes back, `resync` is emitted locally,
 * since anything sent meanwhile was lost and consumers must re-read the store (docs/architecture.md §4, §8).
 */
export class SharedNotifier extends Notifier {
  /** Tells this server's notifications apart from the others' on the shared channel. */
  readonly instanceId = randomBytes(8).toString('hex');
  private stopListening: (() => Promise<void>) | undefined;

  private constructor(private readonly channel: StoreChannel, private readonly logger: Logger) {
    super();
  }

  /** Starts listening; resolves once other servers' notifications arrive. */
  static async start(channel: StoreChannel, logger: Logger): Promise<SharedNotifier> {
    const notifier = new SharedNotifier(channel, logger);
    notifier.stopListening = await channel.listen(NOTIFY_CHANNEL, {
      onMessage: (text) => notifier.receive(text),
      onError: (err) => logger.warn({ err }, 'lost the connection that hears other servers; reconnecting'),
      onReconnect: () => {
        logger.warn('listening to other servers again; re-reading what may have changed meanwhile');
        notifier.deliver('resync', 'reconnected', 'local');
      },
    });
    return notifier;
  }

  override emit<K extends keyof NotifierTopics>(topic: K, payload: NotifierTopics[K]): void {
    this.deliver(topic, payload, 'local');
    // A lost NOTIFY costs the other servers latency only: their waiters poll with deadlines.
    this.channel.notify(NOTIFY_CHANNEL, JSON.stringify([this.instanceId, topic, payload]))
      .catch((err: unknown) => this.logger.warn({ err, topic }, 'could not notify the other servers'));
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    if (!Array.isArray(message) || message.length !== 3 || !message.every((part) => typeof part === 'string')) {
      this.logger.warn({ text: text.slice(0, 200) }, 'ignored a malformed notification');
      return;
    }
    const [from, topic, payload] = message as [string, string, string];
    if (from === this.instanceId || !isNotifierTopic(topic)) return;
    this.deliver(topic, payload, 'remote');
  }

  override async close(): Promise<void> {
    await this.stopListening?.();
    this.stopListening = undefined;
  }
}

/**
 * The notifier for this store: shared across servers when the store has a channel (PostgreSQL),
 * in-process otherwise (PGlite, which one process owns).
 */
export async function createNotifier(store: Store, logger: Logger): Promise<Notifier> {
  return store.channel ? SharedNotifier.start(store.channel, logger) : new Notifier();
}
