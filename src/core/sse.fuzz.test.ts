/**
 * Random Server-Sent Events streams through {@link parseSse}: messages with random event names,
 * multi-line data (any text, multi-byte characters included) and ids, written with a random
 * line ending per line (LF, CRLF or CR), comments and `retry:` lines between them, then cut into
 * random byte chunks (splitting CRLF pairs and UTF-8 sequences). Whatever the cut, the reader
 * yields exactly the messages written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzParams } from '../../test/support/fuzz.js';
import { parseSse, type SseMessage } from './sse.js';

/** Field text: no line breaks (they end a field), and no leading space (one is stripped). */
const fieldText = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '').replace(/^ /, '_'));
const name = fieldText.filter((s) => s !== '');
const message = fc.record({
  event: fc.option(name, { nil: undefined }),
  lines: fc.array(fieldText, { minLength: 1, maxLength: 3 }),
  id: fc.option(fieldText.map((s) => s.replace(/\0/g, '')), { nil: undefined }),
  comment: fc.option(fieldText, { nil: undefined }),
  retry: fc.option(fc.nat(100_000), { nil: undefined }),
});

test('random streams cut at random bytes yield exactly the messages written', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(message, { maxLength: 6 }),
      fc.infiniteStream(fc.constantFrom('\n', '\r\n', '\r')),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 30 }),
      async (messages, endings, cuts) => {
        const eol = endings[Symbol.iterator]();
        let previous = '';
        const line = (text: string): string => {
          let ending = eol.next().value as string;
          // CR then an empty line ended by LF is one CRLF: the same bytes, so not a blank line.
          if (text === '' && previous === '\r' && ending === '\n') ending = '\r\n';
          previous = ending;
          return text + ending;
        };
        let text = '';
        const expected: SseMessage[] = [];
        let lastId: string | null = null;
        for (const m of messages) {
          if (m.comment !== undefined) text += line(`:${m.comment}`);
          if (m.retry !== undefined) text += line(`retry: ${m.retry}`);
          if (m.event !== undefined) text += line(`event: ${m.event}`);
          if (m.id !== undefined) text += line(`id: ${m.id}`);
          for (const data of m.lines) text += line(`data: ${data}`);
          text += line('');
          if (m.id !== undefined) lastId = m.id;
          expected.push({ event: m.event ?? 'message', data: m.lines.join('\n'), id: lastId });
        }
        const bytes = new TextEncoder().encode(text);
        const parts: Uint8Array[] = [];
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = cuts[i % cuts.length] as number;
          parts.push(bytes.subarray(at, at + size));
          at += size;
        }
        const got: SseMessage[] = [];
        const retries: number[] = [];
        const body = (async function* () {
          yield* parts;
        })();
        for await (const m of parseSse(body, { onRetry: (ms) => retries.push(ms) })) got.push(m);
        assert.deepEqual(got, expected);
        assert.deepEqual(retries, messages.flatMap((m) => (m.retry === undefined ? [] : [m.retry])));
      },
    ),
    fuzzParams(200),
  );
});
