import type { IncomingMessage, ServerResponse } from 'node:http';
import { NOT_FOUND, NO_UPSTREAM, sendCanned } from './canned-responses.js';
import type { WakeAnswer } from './wake-client.js';

/**
 * What a client gets while a sleeping version wakes: 503 with `Retry-After`, and for a browser a
 * small page that reloads itself until the app answers. The pages name nothing of the platform:
 * they are shown on the app's own host.
 */
export function sendWakeAnswer(req: IncomingMessage, res: ServerResponse, answer: WakeAnswer): void {
  const isHead = req.method === 'HEAD';
  switch (answer.state) {
    case 'starting':
      return send(res, isHead, { status: 503, retryAfter: answer.retry_after_s, html: wantsHtml(req), failed: false });
    case 'failed':
      return send(res, isHead, { status: 502, retryAfter: answer.retry_after_s, html: wantsHtml(req), failed: true });
    case 'not_found':
      return sendCanned(res, isHead, NOT_FOUND);
    case 'unavailable':
      return sendCanned(res, isHead, NO_UPSTREAM);
    default:
      answer.state satisfies never;
  }
}

/** True when the client prefers a page (a browser's navigation), not data. */
function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html');
}

function send(res: ServerResponse, isHead: boolean, a: { status: number; retryAfter: number; html: boolean; failed: boolean }): void {
  const retry = Math.max(1, Math.round(a.retryAfter));
  const body = a.html ? page(a.failed, retry) : a.failed ? 'This version could not be started.\n' : 'Starting; retry shortly.\n';
  res.writeHead(a.status, {
    'Content-Type': a.html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Retry-After': String(retry),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(isHead ? undefined : body);
}

function page(failed: boolean, retry: number): string {
  // A failed boot is not retried by the page: reloading would only ask for the same failure.
  const refresh = failed ? '' : `<meta http-equiv="refresh" content="${retry}">`;
  const text = failed ? 'This version could not be started.' : 'Starting up…';
  const note = failed ? 'Please try again later.' : 'This page reloads by itself in a moment.';
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">${refresh}` +
    `<title>${text}</title><style>body{font-family:system-ui,sans-serif;display:grid;place-items:center;height:90vh;color:#333}</style></head>` +
    `<body><main><h1>${text}</h1><p>${note}</p></main></body></html>\n`;
}
