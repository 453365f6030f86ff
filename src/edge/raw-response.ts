import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { forwardResponseHeaders } from './forward-headers.js';

/** How the client asked, which decides how the answer is framed. */
export interface RawResponseOptions {
  /** A HEAD request: the answer has headers only. */
  head: boolean;
  /** The client speaks HTTP/1.1 and so can read chunked bodies. */
  chunked: boolean;
}

const CRLF = Buffer.from('\r\n');

function headLines(res: IncomingMessage, extra: string[], options: { dropLength: boolean }): string {
  const status = res.statusCode ?? 502;
  let text = `HTTP/1.1 ${status} ${res.statusMessage || (STATUS_CODES[status] ?? '')}\r\n`;
  const headers = forwardResponseHeaders(res.rawHeaders);
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (options.dropLength && name.toLowerCase() === 'content-length') continue;
    text += `${name}: ${headers[i + 1]}\r\n`;
  }
  for (let i = 0; i < extra.length; i += 2) text += `${extra[i]}: ${extra[i + 1]}\r\n`;
  return `${text}\r\n`;
}

/**
 * The head of an upstream's `101 Switching Protocols`, for the client: its headers with the
 * hop-by-hop ones dropped, except the `Connection: Upgrade` / `Upgrade` pair that is the switch.
 */
export function switchingHead(res: IncomingMessage): string {
  const upgrade = res.headers.upgrade;
  return headLines(res, upgrade === undefined ? ['Connection', 'Upgrade'] : ['Connection', 'Upgrade', 'Upgrade', upgrade], { dropLength: false });
}

/**
 * Writes an upstream's (non-101) response to a raw client socket as a complete HTTP response
 * that ends the connection: node:http has handed the socket over, so nothing would parse a
 * next request on it. The body keeps the upstream's `Content-Length` when it had one, else it
 * is re-chunked for HTTP/1.1 clients (HTTP/1.0 ones read until the close). Streams with
 * backpressure; `done` runs once the response was written or either side failed.
 */
export function pipeResponse(res: IncomingMessage, client: Duplex, options: RawResponseOptions & { done: () => void }): void {
  const status = res.statusCode ?? 502;
  const bodiless = options.head || status === 204 || status === 304 || (status >= 100 && status < 200);
  const sized = res.headers['content-length'] !== undefined && res.headers['transfer-encoding'] === undefined;
  const chunked = !bodiless && !sized && options.chunked;
  const extra = chunked ? ['Connection', 'close', 'Transfer-Encoding', 'chunked'] : ['Connection', 'close'];
  client.write(headLines(res, extra, { dropLength: !bodiless && !sized }));
  if (bodiless) {
    res.resume();
    client.end(options.done);
    return;
  }
  res.on('data', (chunk: Buffer) => {
    if (chunk.length === 0) return;
    if (chunked) client.write(`${chunk.length.toString(16)}\r\n`);
    let flushed = client.write(chunk);
    if (chunked) flushed = client.write(CRLF);
    if (!flushed) {
      res.pause();
      client.once('drain', () => res.resume());
    }
  });
  res.once('end', () => client.end(chunked ? '0\r\n\r\n' : undefined, options.done));
  // An upstream cut mid-body: the client must see a cut too, not a complete-looking response.
  res.on('error', () => {});
  res.once('close', () => {
    if (res.complete) return;
    client.destroy();
    options.done();
  });
}
