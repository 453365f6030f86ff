/** Text formatting for the CLI's human output. */

/** A byte count in decimal units, one decimal place: `1.2 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An ISO timestamp as `2026-11-22 10:00:00` (UTC), short enough for a table. */
export function formatTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}

/** Left-aligned columns separated by two spaces, with a header row; trailing blanks trimmed. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** A version label for humans: `v3`, or `-` when there is none. */
export function formatVersion(versionNumber: number | null): string {
  return versionNumber === null ? '-' : `v${versionNumber}`;
}
