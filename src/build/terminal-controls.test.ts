import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stripTerminalControls } from './terminal-controls.js';

test('colours, cursor moves, titles, hyperlinks and lone escapes are removed', () => {
  const cases: Array<[string, string]> = [
    ['\x1b[32m✓\x1b[39m built in \x1b[1m1.2s\x1b[22m', '✓ built in 1.2s'],
    ['\x1b[38;2;255;0;0mred\x1b[0m', 'red'],
    ['\x1b[2K\x1b[1Gdone', 'done'],
    ['\x1b[?25lhidden cursor\x1b[?25h', 'hidden cursor'],
    ['\x1b]0;my window title\x07after', 'after'],
    ['\x1b]8;;https://example.test/a b\x1b\\link\x1b]8;;\x1b\\', 'link'],
    ['\x1bP1$r0m\x1b\\dcs', 'dcs'],
    ['\x1b(Bcharset \x1b7saved\x1b8 \x1b=keypad', 'charset saved keypad'],
    ['\x9b31m8-bit csi', '8-bit csi'],
    ['bell\x07 back\x08space lone\x1b', 'bell backspace lone'],
  ];
  for (const [input, expected] of cases) assert.equal(stripTerminalControls(input), expected, JSON.stringify(input));
});

test('tabs and newlines stay; carriage returns become line ends', () => {
  assert.equal(stripTerminalControls('a\tb\nc\r\nd'), 'a\tb\nc\nd');
  assert.equal(stripTerminalControls('10%\r50%\r100%\n'), '10%\n50%\n100%\n');
  assert.equal(stripTerminalControls('é € 日本'), 'é € 日本');
});
