import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** node:http's ServerResponse as far as the waiting below needs it. */
export type PendingAnswer = EventEmitter & { req?: { complete: boolean }; headersSent: boolean };

/** A client socket of node:http, with the response it is writing now (if any). */
export type HttpSocket = Duplex & { _httpMessage?: PendingAnswer | null };

/**
 * Runs `then` once every response node:http has in flight or queued on `socket` is done, so
 * that whatever comes next on the connection (an error answer, a tunnel's 101) follows them
 * in order instead of cutting them off. Pipelined requests are answered one after another,
 * and node:http hands the socket to the next queued response before the last one's 'close'.
 * Stops early, with that response, at one whose request never completed (its body was cut
 * or malformed): its answer may never come, so waiting would hang. `detached` says node:http
 * has let go of the socket (an 'upgrade'): it no longer passes the socket's 'drain' on to the
 * response being written, which would stall a large one forever, so this does.
 */
export function afterPendingAnswers(socket: HttpSocket, detached: boolean, then: (stuck: PendingAnswer | null) => void): void {
  const onDrain = () => socket._httpMessage?.emit('drain');
  if (detached) socket.on('drain', onDrain);
  const done = (stuck: PendingAnswer | null) => {
    socket.removeListener('drain', onDrain);
    then(stuck);
  };
  const wait = (res: PendingAnswer | null | undefined) => {
    if (res == null) return done(null);
    if (res.req?.complete === false) return done(res);
    res.once('close', () => {
      const next = socket._httpMessage;
      wait(next === res ? null : next);
    });
  };
  wait(socket._httpMessage);
}
