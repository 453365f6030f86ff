/** Secrets shorter than this are not masked: masking "1" or "on" would garble every line. */
export const MIN_REDACTED_LENGTH = 4;

/** What a masked secret reads as in a log. */
export const REDACTED = '[redacted]';

/** Masks secrets in a text; built once per set of secrets, applied to every line. */
export type Masker = (text: string) => string;

/**
 * A {@link Masker} for `secrets`: every occurrence of each is replaced by {@link REDACTED},
 * longest first; each line of a multi-line secret counts on its own, since logs are matched
 * line by line. With nothing to mask it returns its input.
 */
export function createMasker(secrets: readonly string[]): Masker {
  const masks = [...new Set(secrets.flatMap((s) => [s, ...s.split('\n')]))]
    .filter((v) => v.length >= MIN_REDACTED_LENGTH)
    .sort((a, b) => b.length - a.length);
  if (masks.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const s of masks) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}

/** `text` with `secrets` masked; for one-off texts (build a {@link createMasker} for many). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return createMasker(secrets)(text);
}

/**
 * A log writer that masks secrets in a stream of chunks. It passes on whole lines only, so a
 * secret split across two chunks is still caught; `end` flushes the last, unterminated line.
 * A secret spanning a newline is masked line by line only, which is why multi-line secrets
 * (keys in PEM form) should not be printed at all.
 */
export function createLineRedactor(secrets: readonly string[], write: (text: string) => void): { write(chunk: string): void; end(): void } {
  if (!secrets.some((s) => s.length >= MIN_REDACTED_LENGTH)) return { write, end: () => undefined };
  const mask = createMasker(secrets);
  // Held back when a runaway line is flushed: enough for any secret's unfinished beginning.
  const keep = Math.max(...secrets.flatMap((s) => s.split('\n')).map((l) => l.length)) - 1;
  let pending = '';
  return {
    write(chunk) {
      pending += chunk;
      const cut = pending.lastIndexOf('\n');
      if (cut < 0) {
        // A runaway line without a newline must not be held forever; its tail waits, since a
        // secret may have begun in it.
        if (pending.length > 64 * 1024 + keep) {
          const masked = mask(pending);
          write(masked.slice(0, masked.length - keep));
          pending = masked.slice(masked.length - keep);
        }
        return;
      }
      write(mask(pending.slice(0, cut + 1)));
      pending = pending.slice(cut + 1);
    },
    end() {
      if (pending) write(mask(pending));
      pending = '';
    },
  };
}
