import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One dispatched Server-Sent Events message. */
export interface SseMessage {
  /** The `event:` field; `message` when the server sent none. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The id of the last message on the stream that carried one (it carries over, as a browser's `lastEventId`), or null. */
  id: string | null;
}

/** Options for {@link parseSse}. */
export interface ParseSseOptions {
  /** Called with each `retry:` interval (ms) the server asks for. */
  onRetry?: (ms: number) => void;
}

/**
 * Reads a `text/event-stream` body (a fetch or undici body, or any stream of bytes) into
 * messages. This is the one SSE reader of the codebase: the SDK's event and log streams and the
 * edge's route watcher all use it, which is why it sits in `core`, the one layer both may
 * import (docs/architecture.md §5). The line and field rules are the maintained
 * `eventsource-parser`'s (WHATWG): CRLF, LF or CR end a line, even split across chunks; `:`
 * lines are comments (keep-alives); several `data:` lines join with `\n`; a blank line
 * dispatches; a message without data is dropped. This adapter only decodes bytes as UTF-8
 * across chunk boundaries, names untyped messages `message` and keeps the last id, so callers
 * see what a browser's `EventSource` would, and ends a stream's last line at a final CR. A
 * partial message at the end is discarded, as browsers do. Unknown fields are ignored.
 *
 * @example
 * for await (const message of parseSse(response.body!)) console.log(message.event, message.data);
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>, options: ParseSseOptions = {}): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  const ready: EventSourceMessage[] = [];
  let lastId: string | null = null;
  const parser = createParser({ onEvent: (message) => ready.push(message), onRetry: options.onRetry });
  const drain = function* (): Generator<SseMessage> {
    while (ready.length > 0) {
      const message = ready.shift() as EventSourceMessage;
      if (message.id !== undefined) lastId = message.id;
      yield { event: message.event || 'message', data: message.data, id: lastId };
    }
  };
  let endsInCr = false;
  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    if (text === '') continue;
    parser.feed(text);
    endsInCr = text.endsWith('\r');
    // Drained before the next read, so a consumer that stops early has taken every message it saw.
    yield* drain();
  }
  // The parser holds a final CR back in case LF follows; at the end nothing will, and the CR
  // ends its line (it may be the blank line that completes the last message).
  if (endsInCr) {
    parser.feed('\n');
    yield* drain();
  }
}
