import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The edge server's `checkContinue` listener: answers `Expect: 100-continue` with `100
 * Continue` and serves the request with `handler`, as node:http does by default, but only once
 * the response has the connection. node:http writes the 100 at once, so for a request
 * pipelined behind another it lands inside the answer queued before it (between its head and
 * its body), corrupting the stream. A response that was already written needs no 100.
 */
export function createContinueHandler(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (res.socket !== null) {
      res.writeContinue();
    } else {
      res.once('socket', () => {
        if (!res.headersSent) res.writeContinue();
      });
    }
    handler(req, res);
  };
}
