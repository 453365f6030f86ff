/**
 * Everything the bench starts or creates registers its undo here; `run()` undoes it all, newest
 * first, exactly once, whether the bench finished, threw or was interrupted.
 */
export interface Cleanup {
  /** Registers an undo step (stop a process, remove a directory). */
  add(what: string, undo: () => unknown): void;
  /** Runs every step, newest first; a failing step is reported and the others still run. */
  run(): Promise<void>;
  /** True once `run()` was called: failures after that are the cleanup's doing, not findings. */
  readonly started: boolean;
}

/** Creates the cleanup stack. */
export function createCleanup(report: (line: string) => void): Cleanup {
  const steps: Array<{ what: string; undo: () => unknown }> = [];
  let running: Promise<void> | undefined;
  return {
    get started() {
      return running !== undefined;
    },
    add(what, undo) {
      steps.push({ what, undo });
    },
    run() {
      running ??= (async () => {
        for (const step of steps.splice(0).reverse()) {
          try {
            await step.undo();
          } catch (err) {
            report(`cleanup: ${step.what} failed: ${(err as Error).message}`);
          }
        }
      })();
      return running;
    },
  };
}

/**
 * On SIGINT, SIGTERM or SIGHUP: clean up, then exit 130. Ctrl-C reaches the whole process
 * group (so `slipway up` also stops itself); cleaning up covers a signal sent to us alone.
 * Signals that come while it cleans up are ignored: a second Ctrl-C, or a wrapper such as
 * `timeout` passing the signal on to the group again, would otherwise end the process halfway
 * and leave namespaces, mounts and cgroups on the host.
 */
export function cleanUpOnSignals(cleanup: Cleanup, report: (line: string) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (cleanup.started) {
        report(`${signal}: still cleaning up, please wait …`);
        return;
      }
      report(`\n${signal}: stopping everything the bench started …`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }
}
