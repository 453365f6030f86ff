import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { SlipwayError } from '../core/errors.js';

/**
 * Bounds JSON request bodies, which Fastify parses whole in memory (a publish file map among
 * them): a body declaring more than `maxBytes` is refused with `payload_too_large` before any
 * of it is read, and a chunked one as soon as it passes the limit. The message points at the
 * way to send larger sources: an archive, which is streamed to disk.
 */
export function limitJsonBodies(app: FastifyInstance, maxBytes: number): void {
  const tooLarge = () =>
    new SlipwayError(
      'payload_too_large',
      `the JSON body is larger than the limit of ${maxBytes} bytes; send larger sources as an archive (application/gzip or application/x-tar)`,
      { details: { limit_bytes: maxBytes } },
    );
  app.addHook('preParsing', async (req, _reply, payload) => {
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/json') return payload;
    if (Number(req.headers['content-length']) > maxBytes) throw tooLarge();
    let seen = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        done(seen > maxBytes ? tooLarge() : null, seen > maxBytes ? undefined : chunk);
      },
    });
    payload.on('error', (err) => meter.destroy(err));
    return payload.pipe(meter) as Readable as typeof payload;
  });
}
