/**
 * Telling "listens on the wrong port" apart from "has not opened its port yet", early. An app
 * that listens on 8000 while `PORT` says 3000 would otherwise wait out the whole health grace
 * (60 s by default) before failing.
 *
 * The rule: while an instance starts, every failed health check whose connection was refused
 * asks the driver which ports the app listens on. The start fails with `wrong_port` once two
 * such checks, at least {@link WRONG_PORT_CONFIRM_MS} apart and with none in between showing
 * otherwise, both found the app listening on TCP ports and none of them `PORT`. Any check that
 * finds `PORT` listening, or nothing listening, starts the count over. So an app that opens a
 * debug or metrics port first and its HTTP port shortly after (within the confirmation time) is
 * never failed, and an app that listens on `PORT` plus others is fine.
 */

/**
 * How long an app must listen elsewhere, with nothing on `PORT`, before its start fails. 5 s,
 * not less: apps that open a side port first (a metrics exporter, the inspector) and then load
 * for a few seconds before binding `PORT` are common, and a false `wrong_port` fails a healthy
 * deploy, while 5 s is still far short of the 60 s health grace it saves waiting out.
 */
export const WRONG_PORT_CONFIRM_MS = 5000;

/** Remembers when an app was first seen listening only on other ports than its own. */
export class WrongPortWatch {
  private since: number | null = null;

  /**
   * One check: the ports the app listens on, its `PORT`, the time. Returns the ports found
   * once the rule above is met; null while it is not (yet).
   */
  observe(ports: readonly number[], expected: number, now: number): number[] | null {
    if (ports.length === 0 || ports.includes(expected)) {
      this.since = null;
      return null;
    }
    if (this.since === null) {
      this.since = now;
      return null;
    }
    return now - this.since >= WRONG_PORT_CONFIRM_MS ? [...ports] : null;
  }

  /** Forgets what was seen (a new start). */
  reset(): void {
    this.since = null;
  }
}

/**
 * What to tell the user: the port(s) found, the one expected, and the fix. The `--port` hint is
 * given only where the driver honours the asked port (`portChosen` false); where the host picks
 * the port, reading `PORT` is the only fix.
 */
export function wrongPortReason(ports: readonly number[], expected: number, portChosen: boolean): string {
  const found = ports.length === 1 ? `${ports[0]}` : `${ports.slice(0, -1).join(', ')} and ${ports[ports.length - 1]}`;
  const fix = portChosen ? 'read PORT (this host picks the port)'
    : ports.length === 1 ? `read PORT, or publish with --port ${ports[0]}`
    : 'read PORT, or publish with --port set to the one that serves HTTP';
  return `the app listens on ${found}, not on ${expected} (PORT): ${fix}`;
}
