/** One dispatched Server-Sent Events message. */
export interface SseMessage {
  /** The `event:` field; `message` when the server sent none. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last `id:` seen, or null. */
  id: string | null;
}

/**
 * Reads a `text/event-stream` body into messages, following the WHATWG parsing rules that
 * matter to us: any of CRLF, LF or CR ends a line, `:` lines are comments (keep-alives),
 * several `data:` lines join with `\n`, a blank line dispatches, and a message without data is
 * dropped. A partial message at the end of the stream is discarded, as browsers do.
 *
 * @example
 * for await (const message of parseSse(response.body!)) console.log(message.event, message.data);
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | null = null;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let match: RegExpExecArray | null;
    // A lone CR at the very end may be the first half of CRLF: wait for the next chunk.
    while ((match = /\r\n|\n|\r(?!$)/.exec(buffer)) !== null) {
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
}
