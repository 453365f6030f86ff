/**
 * The `slipway` executable: the user commands of the CLI plus the commands that run Slipway's
 * own processes. The only module that sees both.
 */
import { createCliProgram, runCli } from './cli/program.js';
import { registerProcessCommands } from './server/process-commands.js';

const program = createCliProgram({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
});
registerProcessCommands(program, (line) => process.stdout.write(`${line}\n`));
process.exitCode = await runCli(program, process.argv.slice(2));
