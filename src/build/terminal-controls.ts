/**
 * Terminal control sequences in build output: colours, cursor moves, window titles and
 * hyperlinks that a tool printed for a terminal. In a stored log they are noise (`[32m`), and
 * a secret split by a colour code would slip past the redactor, so they are removed before
 * anything is written.
 */

/**
 * In order: OSC (`ESC ]` … BEL or `ESC \`: titles, hyperlinks); DCS, SOS, PM and APC strings
 * (`ESC P|X|^|_` … `ESC \`); CSI (`ESC [` or the 8-bit `\x9b`, parameters, intermediates, a
 * final byte: colours, cursor, erase); any other escape (`ESC (B`, `ESC 7`, `ESC =`); then the
 * remaining C0 controls and DEL (bells, backspaces, a lone ESC) except tab, newline and CR.
 */
const CONTROL_SEQUENCES =
  /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/**
 * `text` without terminal control sequences. Tabs and newlines stay; a carriage return ends a
 * line (progress bars redraw with it), and `\r\n` is one newline.
 */
export function stripTerminalControls(text: string): string {
  return text.replace(CONTROL_SEQUENCES, '').replace(/\r\n?/g, '\n');
}
