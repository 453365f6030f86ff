/**
 * A stand-in for `fetch` that records every request and answers from a handler, so SDK and
 * CLI tests check exactly what goes over the wire without a server. Test support only.
 */

/** A request as the fake saw it, body already read. */
export interface RecordedRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Buffer;
  /** Whether the caller declared `duplex: 'half'` (needed by Node for streamed bodies). */
  duplex: string | undefined;
}

/** Answers one recorded request. */
export type FakeHandler = (request: RecordedRequest) => Response | Promise<Response>;

/** The fake and what it recorded. */
export interface FakeFetch {
  fetch: typeof fetch;
  requests: RecordedRequest[];
}

/**
 * Creates a fake fetch. The request goes through the real `Request` constructor, so a body
 * Node's fetch would refuse (a stream without `duplex`) fails here too.
 */
export function createFakeFetch(handler: FakeHandler): FakeFetch {
  const requests: RecordedRequest[] = [];
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const recorded: RecordedRequest = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: Buffer.from(await request.arrayBuffer()),
      duplex: (init as { duplex?: string } | undefined)?.duplex,
    };
    requests.push(recorded);
    return handler(recorded);
  };
  return { fetch: fake as typeof fetch, requests };
}

/** A JSON answer. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** The API's error envelope with the given code. */
export function errorResponse(
  status: number,
  code: string,
  extra: { message?: string; details?: Record<string, unknown> } = {},
): Response {
  const error = { code, message: extra.message ?? code, details: extra.details ?? {}, request_id: 'req_test' };
  return jsonResponse(status, { error });
}

/** Routes `"METHOD /path"` (path without query, below `/api/v1`) to handlers; anything else is a 404 `not_found`. */
export function routes(table: Record<string, FakeHandler>): FakeHandler {
  return (request) => {
    const key = `${request.method} ${request.url.pathname.replace(/^\/api\/v1/, '')}`;
    const handler = table[key];
    return handler ? handler(request) : errorResponse(404, 'not_found', { message: `no route ${key}` });
  };
}

/** A `text/event-stream` answer that sends the given chunks one by one. */
export function sseResponse(chunks: string[]): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}
