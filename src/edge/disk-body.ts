import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { UNAVAILABLE, sendCanned } from './canned-responses.js';
import type { FileVariant } from './file-entry.js';

/** Read size for bodies streamed from a release tar. */
const READ_BYTES = 64 * 1024;

/**
 * Sends a variant whose bytes are not in memory, with the status already set on `res`, by streaming its slice of the release tar
 * (or its own file in the per-file cache of format-2 releases), with backpressure, so a file of any size costs one read buffer per response. Headers are
 * written only once the file is open: a tar that vanished (removed by hand, deleted as
 * corrupt) gives a 503, not a 200 with no body. A tar cut short under a response already
 * started ends the connection instead of leaving the client waiting for promised bytes.
 */
export function sendFromDisk(res: ServerResponse, variant: FileVariant, tarPath: string): void {
  const status = res.statusCode;
  if (variant.size === 0) {
    res.writeHead(status, variant.headers);
    res.end();
    return;
  }
  const stream = createReadStream(tarPath, {
    start: variant.offset,
    end: variant.offset + variant.size - 1,
    highWaterMark: READ_BYTES,
  });
  stream.once('error', () => {
    if (res.headersSent) res.destroy();
    else sendCanned(res, false, UNAVAILABLE);
  });
  stream.once('open', () => {
    res.writeHead(status, variant.headers);
    stream.pipe(res, { end: false });
  });
  stream.once('end', () => {
    if (stream.bytesRead === variant.size) res.end();
    else res.destroy();
  });
  // A client that leaves must not keep the file open.
  res.once('close', () => stream.destroy());
}
