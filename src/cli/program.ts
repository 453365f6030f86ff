import { Command, CommanderError } from 'commander';
import type { CliIo } from './cli-io.js';
import { createCommandContext, EXIT_ERROR, EXIT_USAGE, reportError } from './command-context.js';
import { registerDeploymentsCommand } from './commands/deployments.js';
import { registerDetectCommand } from './commands/detect.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerDomainsCommand } from './commands/domains.js';
import { registerEnvCommand } from './commands/env.js';
import { registerEventsCommand } from './commands/events.js';
import { registerGcCommand } from './commands/gc.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerPublishCommand } from './commands/publish.js';
import { registerRedeployCommand } from './commands/redeploy.js';
import { registerRollbackCommand } from './commands/rollback.js';
import { registerScaleCommands } from './commands/scale.js';
import { registerTenantsCommand } from './commands/tenants.js';
import { registerVersionsCommand } from './commands/versions.js';

export { EXIT_ERROR, EXIT_USAGE };

/**
 * Builds the `slipway` command line on the given io. It never exits the process: every exit
 * (help, usage error, failed command) is thrown as a CommanderError carrying the exit code
 * (0, {@link EXIT_USAGE} or {@link EXIT_ERROR}); {@link runCli} turns that into a number.
 * Commands added later with `program.command()` inherit the same output and exit handling.
 *
 * @example
 * const program = createCliProgram({
 *   stdout: (s) => process.stdout.write(s),
 *   stderr: (s) => process.stderr.write(s),
 *   env: process.env,
 * });
 * process.exitCode = await runCli(program, process.argv.slice(2));
 */
export function createCliProgram(io: CliIo): Command {
  const program = new Command('slipway')
    .description('Slipway: publish directories as versioned deployments behind a stable URL')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err) => {
      // Commander uses 1 for its own usage errors; 2 keeps them apart from failed commands.
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_USAGE, err.code, err.message);
    });
  const ctx = createCommandContext(io);
  registerPublishCommand(program, ctx);
  registerDetectCommand(program, ctx);
  registerDeploymentsCommand(program, ctx);
  registerVersionsCommand(program, ctx);
  registerRollbackCommand(program, ctx);
  registerRedeployCommand(program, ctx);
  registerScaleCommands(program, ctx);
  registerEnvCommand(program, ctx);
  registerDomainsCommand(program, ctx);
  registerEventsCommand(program, ctx);
  registerLogsCommand(program, ctx);
  registerGcCommand(program, ctx);
  registerTenantsCommand(program, ctx);
  registerKeysCommand(program, ctx);
  registerDoctorCommand(program, ctx);
  return program;
}

/**
 * Runs the program on `argv` (the user's arguments, without `node` and the script) and
 * resolves to the process exit code.
 *
 * @example
 * const code = await runCli(createCliProgram(io), ['deployments', 'list', '--json']);
 */
export async function runCli(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    // A command added outside this module threw without going through handleErrors.
    const writeErr = program.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
    reportError({ stdout: () => {}, stderr: writeErr, env: {} }, err, argv.includes('--json'));
    return EXIT_ERROR;
  }
}
