import type { Command } from 'commander';
import { packDirectory, type DetectResult } from '../../sdk/index.js';
import { writeJson } from '../cli-io.js';
import { handleErrors, type CommandContext } from '../command-context.js';
import { parsePositiveInt } from '../parse-args.js';

interface DetectFlags {
  buildCommand?: string;
  outputPath?: string;
  kind?: 'auto' | 'static' | 'dynamic';
  runCommand?: string;
  port?: number;
  asIs?: boolean;
  json?: boolean;
}

/**
 * `slipway detect <dir>`: how the server would build this directory (framework, install, build,
 * output or run command, port) and why, without publishing. The directory is packed as
 * `publish` packs it and sent to `POST /api/v1/detect`, so the answer is the server's own, with
 * its tools and its limits; nothing is stored.
 *
 * @example
 * slipway detect ./my-app
 * slipway detect . --kind static --json
 */
export function registerDetectCommand(program: Command, ctx: CommandContext): void {
  program
    .command('detect')
    .description('show how a directory would be built and served, and why, without publishing it')
    .argument('<dir>', 'the directory to look at')
    .option('--build-command <cmd>', 'as for publish: replaces the detected build')
    .option('--output-path <path>', 'as for publish: the folder to serve')
    .option('--kind <kind>', 'auto (default), static or dynamic')
    .option('--run-command <cmd>', 'as for publish: makes it a dynamic app')
    .option('--port <n>', 'as for publish: the port the app listens on', parsePositiveInt)
    .option('--as-is', 'as for publish: the files as they are')
    .option('--json', 'print the API data as JSON')
    .action(handleErrors(ctx.io, async (dir: string, flags: DetectFlags) => {
      const keepPath = flags.buildCommand === undefined ? flags.outputPath : undefined;
      const archive = await packDirectory(dir, { keepPath });
      const client = await ctx.client();
      const plan = await client.detect(archive, {
        buildCommand: flags.buildCommand, outputPath: flags.outputPath, kind: flags.kind,
        runCommand: flags.runCommand, port: flags.port, asIs: flags.asIs,
      });
      if (flags.json) return writeJson(ctx.io.stdout, plan);
      ctx.io.stdout(describePlan(plan));
    }));
}

/** The plan for humans: one `name: value` line per part that applies, then the reasons. */
export function describePlan(plan: DetectResult): string {
  const lines: Array<[string, string | null]> = [
    ['framework', plan.detected],
    ['kind', plan.kind],
    ['fetch', plan.fetch_tools.length ? plan.fetch_tools.join(', ') : null],
    ['install', plan.install.length ? plan.install.map((argv) => argv.map((a) => (a.includes('\n') ? `'${a.slice(0, a.indexOf('\n'))} …'` : a)).join(' ')).join(' → ') : null],
    ['build', plan.build_command],
    ['output', plan.kind === 'static' ? (plan.output_path ?? (plan.build_command ? 'dist, build, out or public, whichever the build makes' : '. (the root)')) : null],
    ['package', plan.package_root],
    // An image built from a Dockerfile may run its own command.
    ['run', plan.run_command === '' ? "the image's own CMD/ENTRYPOINT" : plan.run_command],
    ['port', plan.port === null ? null : String(plan.port)],
  ];
  const shown = lines.filter((l): l is [string, string] => l[1] !== null);
  const width = Math.max(...shown.map(([name]) => name.length)) + 1;
  return [
    ...shown.map(([name, value]) => `${`${name}:`.padEnd(width)} ${value}`),
    'why:',
    ...plan.reasons.map((r) => `  - ${r}`),
    '',
  ].join('\n');
}
