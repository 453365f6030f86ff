import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Open streams per app, so shutdown can end them instead of waiting on them forever. */
const openStreams = new WeakMap<FastifyInstance, Set<SseStream>>();

/** Ends every open stream of `app`; clients reconnect elsewhere or later. */
export function endAllSse(app: FastifyInstance): void {
  for (const s of openStreams.get(app) ?? []) s.end();
}

/** An open Server-Sent Events response. */
export interface SseStream {
  send(event: string, data: unknown, id?: string): void;
  /** Resolves when the client goes away. */
  closed: Promise<void>;
  end(): void;
}

/**
 * Takes over the raw response for an SSE stream, with a comment line every 15 s so proxies and
 * idle timeouts keep the connection open.
 */
export function openSse(request: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  res.write(': connected\n\n');
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      clearInterval(heartbeat);
      resolve();
    };
    request.raw.on('close', done);
    res.on('close', done);
  });
  let streams = openStreams.get(request.server);
  if (!streams) openStreams.set(request.server, (streams = new Set()));
  const stream: SseStream = {
    send(event, data, id) {
      if (res.writableEnded) return;
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    closed,
    end() {
      clearInterval(heartbeat);
      streams.delete(stream);
      if (!res.writableEnded) res.end();
    },
  };
  streams.add(stream);
  void closed.then(() => streams.delete(stream));
  return stream;
}
