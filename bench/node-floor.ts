/**
 * The floor for any node:http server: the bench's static files held as Buffers and answered
 * with precomputed headers of the same names and sizes the edge sends, and nothing else (no
 * routing, no negotiation). Run as its own process, like the edge, so the bench can tell the
 * cost of the edge's code from the cost of node:http itself.
 *
 * Usage: node --import tsx bench/node-floor.ts <port>   (prints "listening" when ready)
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createStaticFiles } from './site-fixture.js';

const CONTENT_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', html: 'text/html; charset=utf-8' };

function responseFor(path: string, body: Buffer): { headers: string[]; body: Buffer } {
  const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
  const type = CONTENT_TYPES[path.split('.').pop() ?? ''] ?? 'application/octet-stream';
  const headers = [
    'Content-Type', type, 'Content-Length', String(body.length), 'ETag', etag,
    'Cache-Control', 'public, max-age=0, must-revalidate', 'Vary', 'Accept-Encoding', 'X-Content-Type-Options', 'nosniff',
  ];
  return { headers, body };
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: node-floor.ts <port>');
const responses = new Map([...createStaticFiles()].map(([path, body]) => [`/${path}`, responseFor(path, body)]));
const server = createServer({ keepAlive: true }, (req, res) => {
  const hit = responses.get(req.url ?? '');
  if (hit === undefined) {
    res.writeHead(404, { 'Content-Length': '0' });
    res.end();
    return;
  }
  res.writeHead(200, hit.headers);
  res.end(hit.body);
});
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
// The bench stops it with SIGTERM; it also ends when the bench's pipe to it closes.
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
