import type { Duplex } from 'node:stream';
import { afterPendingAnswers, type HttpSocket } from './pending-answers.js';

const ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/** Sockets whose parser failed, waiting for the answers in flight before they close. */
const draining = new WeakSet<Duplex>();

/**
 * The edge server's `clientError` listener: an unparsable request is answered (400, 408, 431)
 * and ends the connection, as node:http's default does, but only once the answers to the
 * requests before it have gone out. node:http's default answers at once and destroys the
 * socket, so a request already running (proxied to an app) lost its answer to a bad one
 * pipelined behind it: with HTTP/1.0 (one request per connection) any byte after the first
 * request did that. Bytes after a request that ends its connection (HTTP/1.0 without
 * keep-alive, `Connection: close`) are ignored, as nginx does: the answer is sent, then the
 * connection closes.
 */
export function onClientError(err: Error & { code?: string }, socket: HttpSocket): void {
  if (draining.has(socket)) return;
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const closing = err.code === 'HPE_CLOSED_CONNECTION';
  const answer = closing ? null : `HTTP/1.1 ${ANSWERS[err.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
  // Ended, not destroyed: what was written before must still reach the client. A response
  // that ended the connection (`Connection: close`) is closing it already.
  const close = () => {
    if (socket.writable) socket.end(answer ?? undefined, () => socket.destroy());
  };
  draining.add(socket);
  afterPendingAnswers(socket, false, (stuck) => {
    if (stuck === null) return close();
    // The error is in this request's own body: it can never complete, so neither can its
    // answer. Cut it, as node:http does (its app sees an aborted request, not a lost answer).
    if (!stuck.headersSent && answer !== null) socket.write(answer);
    socket.destroy();
  });
}
