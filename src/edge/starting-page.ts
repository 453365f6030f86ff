import type { IncomingMessage, ServerResponse } from 'node:http';
import { NEUTRAL_PAGES, type EdgePages } from './branded-pages.js';
import { sendCanned } from './canned-responses.js';
import type { WakeAnswer } from './wake-client.js';

/**
 * What a client gets while a sleeping version wakes: 503 with `Retry-After`, and for a browser a
 * small page that reloads itself until the app answers. The pages name nothing of the platform:
 * they are shown on the app's own host, in its tenant's branding (`pages`, branded-pages.ts).
 */
export function sendWakeAnswer(req: IncomingMessage, res: ServerResponse, wake: { answer: WakeAnswer; pages?: EdgePages }): void {
  const isHead = req.method === 'HEAD';
  const { answer, pages = NEUTRAL_PAGES } = wake;
  switch (answer.state) {
    case 'starting':
      return send(res, isHead, { status: 503, retryAfter: answer.retry_after_s, html: wantsHtml(req), failed: false, pages });
    case 'failed':
      return send(res, isHead, { status: 502, retryAfter: answer.retry_after_s, html: wantsHtml(req), failed: true, pages });
    case 'not_found':
      return sendCanned(res, isHead, pages.notFound);
    case 'unavailable':
      return sendCanned(res, isHead, pages.noUpstream);
    default:
      answer.state satisfies never;
  }
}

/** True when the client prefers a page (a browser's navigation), not data. */
function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html');
}

function send(
  res: ServerResponse,
  isHead: boolean,
  a: { status: number; retryAfter: number; html: boolean; failed: boolean; pages: EdgePages },
): void {
  const retry = Math.max(1, Math.round(a.retryAfter));
  const body = a.html
    ? a.failed ? a.pages.startFailed() : a.pages.starting(retry)
    : a.failed ? 'This version could not be started.\n' : 'Starting; retry shortly.\n';
  res.writeHead(a.status, {
    'Content-Type': a.html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Retry-After': String(retry),
    // A tenant's own starting page cannot know the wait, so the reload is the header's too.
    ...(a.html && !a.failed ? { Refresh: String(retry) } : {}),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(isHead ? undefined : body);
}
