/**
 * docs/cli.md describes every command and option of the `slipway` executable: the program
 * `src/main.ts` builds (the user commands plus the process commands), walked as commander
 * sees it, so a new command or flag without a doc line fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createCliProgram } from '../../src/cli/program.js';
import { registerProcessCommands } from '../../src/server/process-commands.js';
import { repoRoot } from './repo-files.js';

/** A command as a user types it (`env set`), with its long options. */
interface CommandInfo {
  path: string;
  options: string[];
  subcommands: string[];
  /** A parent with neither arguments nor options of its own (`deployments`) needs no entry. */
  grouping: boolean;
}

function commands(program: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const walk = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const path = `${prefix}${sub.name()}`;
      const options = sub.options.filter((o) => !o.hidden && o.long).map((o) => o.long!);
      out.push({
        path, options, subcommands: sub.commands.map((c) => c.name()),
        grouping: sub.commands.length > 0 && sub.registeredArguments.length === 0 && options.length === 0,
      });
      walk(sub, `${path} `);
    }
  };
  walk(program, '');
  return out;
}

/**
 * The doc text that describes `path`: each table row whose first cell starts `slipway <path>`,
 * and each code block starting so together with the prose after it (its option list), up to
 * the next code block or heading. A following word that is a subcommand (`env set`) belongs to
 * that subcommand instead.
 */
function entries(doc: string, cmd: CommandInfo): string[] {
  const found: string[] = [];
  const startsWithCommand = (text: string) => {
    const m = new RegExp(`^\`?slipway ${cmd.path.replace(/ /g, ' +')}(?![\\w-])\\s*(\\S*)`).exec(text.trim());
    return m !== null && !cmd.subcommands.includes(m[1]!);
  };
  for (const line of doc.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1];
    if (first !== undefined && startsWithCommand(first)) found.push(line);
  }
  const blocks = doc.split(/^```.*$/m);
  // Odd pieces are the insides of fences; the piece after each runs to the next heading.
  for (let i = 1; i < blocks.length; i += 2) {
    if (startsWithCommand(blocks[i]!)) found.push(blocks[i]! + (blocks[i + 1] ?? '').split(/^#/m)[0]);
  }
  return found;
}

test('docs/cli.md describes every command and every option of the slipway executable', async () => {
  const doc = await readFile(join(repoRoot, 'docs/cli.md'), 'utf8');
  const program = createCliProgram({ stdout: () => {}, stderr: () => {}, env: {} });
  registerProcessCommands(program, () => {});
  const all = commands(program);
  assert.ok(all.length > 15, `walked only ${all.length} commands: the program changed shape`);

  // An option every user command has (`--json`) may be described once, before the first section.
  // User commands are the CLI's own; the process commands (`up`, `down`, …) are not among them.
  const user = new Set(commands(createCliProgram({ stdout: () => {}, stderr: () => {}, env: {} })).map((c) => c.path));
  const userCommands = all.filter((c) => !c.grouping && c.options.length > 0 && user.has(c.path));
  const common = userCommands[0]!.options.filter((o) => userCommands.every((c) => c.options.includes(o)));
  const intro = doc.split(/^## /m)[0]!;

  const problems: string[] = [];
  for (const o of common) {
    if (!intro.includes(`\`${o}\``)) problems.push(`${o}: every user command takes it; say so before the first section of docs/cli.md`);
  }
  for (const cmd of all.filter((c) => !c.grouping)) {
    const text = entries(doc, cmd).join('\n');
    if (!text) {
      problems.push(`slipway ${cmd.path}: no table row or usage block starts with \`slipway ${cmd.path}\` in docs/cli.md; add one`);
      continue;
    }
    for (const o of cmd.options.filter((x) => !common.includes(x))) {
      if (!new RegExp(`${o}(?![\\w-])`).test(text)) problems.push(`slipway ${cmd.path} ${o}: not in its row or usage block in docs/cli.md; add it there`);
    }
  }
  assert.deepEqual(problems, [], `docs/cli.md is missing:\n  ${problems.join('\n  ')}`);
});

test('the usage lines of docs/cli.md name only commands and options that exist', async () => {
  const doc = await readFile(join(repoRoot, 'docs/cli.md'), 'utf8');
  const program = createCliProgram({ stdout: () => {}, stderr: () => {}, env: {} });
  registerProcessCommands(program, () => {});
  const all = commands(program);
  const usages = [
    ...doc.split('\n').map((line) => /^\|\s*`(slipway [^`]*)`/.exec(line)?.[1]).filter((u) => u !== undefined),
    ...doc.split(/^```.*$/m).filter((_, i) => i % 2 === 1).map((b) => b.trim()).filter((b) => b.startsWith('slipway ')),
  ];
  assert.ok(usages.length > 15, `found only ${usages.length} usage lines in docs/cli.md: the page changed shape`);
  const stale: string[] = [];
  for (const usage of usages) {
    const words = usage.split(/\s+/).slice(1);
    // The longest command path the usage starts with.
    const cmd = all.filter((c) => c.path.split(' ').every((w, i) => words[i] === w)).sort((a, b) => b.path.length - a.path.length)[0];
    if (!cmd) {
      stale.push(`"${usage}": no such command`);
      continue;
    }
    for (const [o] of usage.matchAll(/--[a-z][a-z-]*/g)) if (!cmd.options.includes(o)) stale.push(`"${usage}": slipway ${cmd.path} has no ${o}`);
  }
  assert.deepEqual(stale, [], `fix these usage lines in docs/cli.md (or the command):\n  ${stale.join('\n  ')}`);
});
