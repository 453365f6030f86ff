import { join } from 'node:path';
import type { InstanceAssignment, InstanceState } from '../core/runtime.js';
import type { InstanceHandle, InstanceRelease, RuntimeCapabilities, RuntimeDriver } from '../runtime/runtime-driver.js';
import { probeHealth, startingRecheckMs, type ProbeResult } from './health-probe.js';
import { drainInstance } from './drain.js';
import { readLogTail } from './log-tail.js';
import { ReportQueue, unenforcedLimits, type ReportDelivery } from './report-queue.js';
import { diagnoseProbe } from './probe-diagnosis.js';
import { RestartBackoff } from './restart-backoff.js';
import { startFailure } from './start-failure.js';
import { WrongPortWatch, wrongPortReason } from './wrong-port.js';

/** What a supervisor needs from the agent around it. */
export interface SupervisorDeps {
  driver: RuntimeDriver;
  /**
   * What the driver runs for the assignment's release: its unpacked tree, or (with `image` set)
   * the image, loaded into the engine from the release blob when the engine lacks it.
   */
  release(assignment: Pick<InstanceAssignment, 'artifact_sha256' | 'image'>): Promise<InstanceRelease>;
  /** Sends a report; `unknown_instance` means the server no longer wants it. */
  report: ReportDelivery;
  logDir: string;
  log(message: string, data?: Record<string, unknown>): void;
}

/** How often the process is checked for an exit: bounds the time to notice a crash. */
const EXIT_POLL_MS = 100;
/** A run this long without a crash resets the crash-loop count. */
const STABLE_RUN_MS = 60_000;
/** SIGTERM → SIGKILL when an instance is stopped or restarted. */
const STOP_GRACE_MS = 10_000;

/** Why an instance is in a state: words, a stable code, and its last output on failure. */
interface Why {
  reason: string;
  code?: string | null;
  tail?: string;
}

type Phase = 'starting' | 'healthy' | 'unhealthy' | 'backoff' | 'stopping' | 'done';

/**
 * Keeps one runtime instance in the state its assignment asks for, on this host: starts it,
 * checks its health, restarts it (at once after a healthy run, with crash-loop backoff on
 * repeated failures: restart-backoff.ts) and fails it once the budget is spent, drains and
 * stops it when told. Every state change is reported to the server. The process lives outside
 * the agent, so a restarted agent re-adopts it (`adopted`) instead of starting a copy.
 */
export class InstanceSupervisor {
  private a: InstanceAssignment;
  private handle: InstanceHandle | null;
  private phase: Phase = 'starting';
  private passes = 0;
  private fails = 0;
  private nextProbeAt = 0;
  /** When the driver may next be asked which ports the app listens on, while it starts. */
  private nextPortsLookAt = 0;
  private backoffUntil = 0;
  private restarts: number;
  private readonly backoff = new RestartBackoff(() => this.a.crash_loop_budget);
  private startedAt = 0;
  private everHealthy = false;
  /** The current run passed its health check (an adopted run counts once it is checked). */
  private runHealthy = false;
  private readonly wrongPort = new WrongPortWatch();
  /**
   * What the driver promises this instance: asked per handle (a composite driver runs some
   * releases on another driver), so until the first start it is the driver's own.
   */
  private capabilities: RuntimeCapabilities;
  private timer: NodeJS.Timeout | undefined;
  private detached = false;
  private readonly reports: ReportQueue;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(assignment: InstanceAssignment, private readonly deps: SupervisorDeps, adopted: InstanceHandle | null = null) {
    this.a = assignment;
    this.handle = adopted;
    this.restarts = assignment.restart_count;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.reports = new ReportQueue(deps.report);
    this.capabilities = this.capabilitiesOf(adopted);
    if (adopted) {
      this.startedAt = adopted.startedAt;
      deps.log('re-adopted a running instance', { id: adopted.id, address: adopted.address });
    }
  }

  get id(): string {
    return this.a.runtime_instance_id;
  }

  /** Starts supervising. */
  start(): void {
    void this.tick();
  }

  /** The assignment being followed. */
  get assignment(): InstanceAssignment {
    return this.a;
  }

  /** A newer assignment for the same instance (desired state, fail-fast, settings). */
  update(assignment: InstanceAssignment): void {
    this.a = assignment;
  }

  /** Stops supervising without touching the process (agent shutdown: the instance keeps running). */
  detach(): void {
    this.detached = true;
    clearTimeout(this.timer);
    this.resolveDone();
  }

  /** One step, then the next one after {@link nextTickMs}: steps never overlap. */
  private async tick(): Promise<void> {
    if (this.ended()) return;
    try {
      await this.step();
    } catch (err) {
      this.deps.log('instance supervision step failed', { id: this.id, err: (err as Error).message });
    }
    if (this.ended()) return;
    this.timer = setTimeout(() => void this.tick(), this.nextTickMs());
  }

  private ended(): boolean {
    return this.forgotten() || this.detached;
  }

  /** Done with the instance: stopped, failed or forgotten for good. */
  private forgotten(): boolean {
    return this.phase === 'done';
  }

  /**
   * Every {@link EXIT_POLL_MS}, or sooner when a restart is due or a starting instance's next
   * check is: the time to see a restarted app is not rounded up to the exit poll.
   */
  private nextTickMs(): number {
    const now = Date.now();
    const due = this.phase === 'backoff' ? this.backoffUntil : this.phase === 'starting' && this.handle ? this.nextProbeAt : Infinity;
    return Math.max(0, Math.min(EXIT_POLL_MS, due - now));
  }

  private async step(): Promise<void> {
    const now = Date.now();
    if (this.reports.due(now) && (await this.reports.flush())) return this.forget();
    if (this.a.desired === 'stopped') return this.stopForGood('stopped', 'stopped as the control plane asked');
    if (this.phase === 'backoff') {
      if (now >= this.backoffUntil) await this.launch();
      return;
    }
    if (!this.handle) return this.launch();
    if (!(await this.deps.driver.isRunning(this.handle))) return this.onExit();
    if (now - this.startedAt > STABLE_RUN_MS) this.backoff.stable();
    if (now >= this.nextProbeAt) {
      const result = await probeHealth(this.handle.address, this.a.health.path, this.a.health.timeout_ms);
      // The tick comes early for a quick recheck (nextTickMs); the costly look at the app's
      // ports (wrong-port rule) keeps the configured interval.
      this.nextProbeAt = this.recheckSoon(result) ? now + startingRecheckMs(now - this.startedAt, this.a.health.interval_ms) : Date.now() + this.a.health.interval_ms;
      await this.onProbe(result);
    }
  }

  /**
   * Starts the instance; `why` is the reason reported with `starting` (the failure, for an
   * immediate restart), `cleanup` what must be done before the start (freeing the dead one).
   */
  private async launch(why?: Why, cleanup?: () => Promise<void>): Promise<void> {
    this.phase = 'starting';
    this.passes = 0;
    this.fails = 0;
    this.runHealthy = false;
    this.wrongPort.reset();
    this.nextPortsLookAt = 0;
    // The report does not wait for the release nor the start, nor they for it: a release new to
    // this host is downloaded and unpacked, and a restart's process boots, while the server
    // hears of the start. The report settles before anything else is reported, so the server
    // hears `starting` before a failure of the same start.
    const starting = this.send('starting', null, why ?? { reason: this.restarts ? `restart ${this.restarts}` : 'starting' });
    if (cleanup) {
      await cleanup().catch(async (err: unknown) => {
        await starting;
        throw err;
      });
    }
    let handle: InstanceHandle;
    try {
      handle = await this.deps.driver.start({
        id: this.id, release: await this.deps.release(this.a), runCommand: this.a.run_command, port: this.a.port, env: this.a.env,
        resources: this.a.resources, logPath: this.logPath(),
      });
    } catch (err) {
      await starting;
      return this.startFailed(err);
    }
    await starting;
    // The server answered that it no longer knows the instance: forget() ran meanwhile. (A
    // detached supervisor leaves it running, as any other, for the next agent to adopt.)
    if (this.forgotten()) return this.deps.driver.stop(handle, 1000);
    this.handle = handle;
    this.capabilities = this.capabilitiesOf(this.handle);
    this.startedAt = Date.now();
    // The first check comes quickly: an app that boots in 20 ms should not wait a whole interval.
    this.nextProbeAt = this.startedAt + startingRecheckMs(0, this.a.health.interval_ms);
  }

  /**
   * Whether the next check comes before `interval_ms`: only while a start is within its grace,
   * nothing has passed yet and nothing listens on the port. What counts is unchanged: within
   * the grace a refused check counts for nothing (wrong port aside), and once the grace is
   * over, or the app answers at all, checks come at the configured interval again, so
   * `unhealthy_threshold` and `healthy_threshold` still mean that many intervals.
   */
  private recheckSoon(result: ProbeResult): boolean {
    return !result.ok && result.kind === 'refused' && this.phase === 'starting' && this.passes === 0
      && Date.now() - this.startedAt < this.a.health.grace_period_ms;
  }

  private async onProbe(result: ProbeResult): Promise<void> {
    const h = this.a.health;
    if (result.ok) {
      this.fails = 0;
      this.passes++;
      if (this.phase !== 'healthy' && this.passes >= h.healthy_threshold) {
        this.phase = 'healthy';
        this.everHealthy = true;
        this.runHealthy = true;
        await this.send('healthy', this.handle!.address, { reason: `GET ${h.path} answered ${result.status}` });
      }
      return;
    }
    this.passes = 0;
    const inGrace = this.phase === 'starting' && Date.now() - this.startedAt < h.grace_period_ms;
    if (inGrace) {
      // Within the grace, only a confirmed wrong port ends the start early (see wrong-port.ts).
      const wrong = await this.wrongPortSeen(result);
      if (!wrong) return;
      return this.failStart(wrong);
    }
    this.fails++;
    if (this.fails < h.unhealthy_threshold) return;
    const { code, reason } = await diagnoseProbe(result, this.handle, { driver: this.deps.driver, assignedPort: this.a.port });
    if (this.phase === 'healthy') {
      this.phase = 'unhealthy';
      await this.send('unhealthy', this.handle!.address, { reason: `${reason} (${this.fails} checks in a row)`, code });
    }
    return this.failStart({ code, reason });
  }

  /** A start (or a run) that cannot succeed: fail it during a rollout, else restart it with backoff. */
  private async failStart({ code, reason }: { code: string; reason: string }): Promise<void> {
    if (this.a.fail_fast && !this.everHealthy) return this.stopForGood('failed', reason, code);
    // Unhealthy, or never healthy past its grace: restart it (with backoff).
    await this.deps.driver.stop(this.handle!, STOP_GRACE_MS);
    this.handle = null;
    await this.scheduleRestart(reason, code);
  }

  /**
   * The release could not be had or the driver would not start it: nothing runs, so nothing is
   * stopped. A failure no retry can mend on this host fails the instance at once with its code;
   * any other takes the path of an exit (fail during a rollout, else restart with backoff until
   * the crash-loop budget is spent), never a new attempt at every tick.
   */
  private async startFailed(err: unknown): Promise<void> {
    const { code, reason, permanent } = startFailure(err);
    if (permanent || (this.a.fail_fast && !this.everHealthy)) return this.stopForGood('failed', reason, code);
    await this.scheduleRestart(reason, code);
  }

  /** During a start: `wrong_port` once the app has been confirmed listening only elsewhere. */
  private async wrongPortSeen(result: ProbeResult & { ok: false }): Promise<{ code: string; reason: string } | null> {
    const handle = this.handle;
    if (result.kind !== 'refused' || !handle) {
      this.wrongPort.reset();
      return null;
    }
    // Quick rechecks come every tick; the ports (~8 ms of CPU a look) only every interval_ms,
    // as before them. A skipped look neither confirms nor clears what was seen.
    const now = Date.now();
    if (now < this.nextPortsLookAt) return null;
    this.nextPortsLookAt = now + this.a.health.interval_ms;
    const ports = this.wrongPort.observe(await this.deps.driver.listeningPorts(handle), handle.port, Date.now());
    return ports ? { code: 'wrong_port', reason: wrongPortReason(ports, handle.port, handle.port !== this.a.port) } : null;
  }

  private async onExit(): Promise<void> {
    const handle = this.handle!;
    const exit = await this.deps.driver.exitInfo(handle);
    this.handle = null;
    // What the dead instance held on the host is freed before anything starts again; a failure
    // gives the handle back, so the next tick takes this path again.
    const remove = () => this.deps.driver.remove(handle).catch((err: unknown) => {
      this.handle = handle;
      throw err;
    });
    const how = exit.oomKilled ? `was killed for using more than ${this.a.resources.memory_mb} MB of memory`
      : exit.exitCode !== null ? `exited with code ${exit.exitCode}` : exit.signal ? `was killed by ${exit.signal}` : 'exited';
    const code = exit.oomKilled ? 'oom_killed' : 'exited';
    const reason = `the app ${how}${this.everHealthy || this.phase === 'healthy' ? '' : ' before it became healthy'}`;
    this.phase = 'starting';
    if (this.a.fail_fast && !this.everHealthy) {
      await remove();
      return this.stopForGood('failed', reason, code);
    }
    await this.scheduleRestart(reason, code, remove);
  }

  /**
   * Restarts after a failure: at once after a healthy run, else after the backoff, or gives up.
   * `cleanup` (freeing a dead instance) runs first, or, for an immediate restart, while the
   * server hears of it.
   */
  private async scheduleRestart(reason: string, code: string, cleanup: () => Promise<void> = async () => {}): Promise<void> {
    const decision = this.backoff.next(this.runHealthy);
    this.runHealthy = false;
    if (!decision.restart) {
      await cleanup();
      return this.stopForGood('failed', `${reason}; gave up after ${decision.restarts} restarts in a row (crash loop)`, code);
    }
    this.restarts++;
    // One report, not two: the server hears the failure and the new start together.
    if (decision.delayMs === 0) return this.launch({ reason: `${reason}; restarting now`, code }, cleanup);
    await cleanup();
    this.phase = 'backoff';
    this.backoffUntil = Date.now() + decision.delayMs;
    await this.send('starting', null, { reason: `${reason}; restarting in ${decision.delayMs / 1000} s`, code });
  }

  /** Drains (when it was serving), stops and forgets the instance; reports the final state. */
  private async stopForGood(state: 'stopped' | 'failed', reason: string, code: string | null = null): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'done') return;
    const wasServing = this.phase === 'healthy' || this.phase === 'unhealthy';
    this.phase = 'stopping';
    if (this.handle) {
      if (state === 'stopped') {
        await this.send('stopping', this.handle.address, { reason, code });
        if (wasServing) await drainInstance(this.deps.driver, this.handle, this.a.drain_timeout_ms);
      }
      await this.deps.driver.stop(this.handle, state === 'failed' ? 1000 : STOP_GRACE_MS);
      this.handle = null;
    }
    const tail = state === 'failed' ? await readLogTail(this.logPath(), 40) : undefined;
    await this.send(state, null, { reason, code, tail });
    this.phase = 'done';
    clearTimeout(this.timer);
    this.resolveDone();
  }

  private async send(state: InstanceState, address: string | null, why: Why): Promise<void> {
    this.deps.log(`instance ${state}`, { id: this.id, reason: why.reason });
    const forget = await this.reports.push({
      runtime_instance_id: this.id, state, address, reason: why.reason, reason_code: why.code ?? null, restart_count: this.restarts, log_tail: why.tail,
      unenforced_limits: unenforcedLimits(this.capabilities),
    });
    if (forget) await this.forget();
  }

  /** The server does not know this instance (any more): stop it without reporting. */
  private async forget(): Promise<void> {
    this.phase = 'done';
    clearTimeout(this.timer);
    if (this.handle) await this.deps.driver.stop(this.handle, 1000);
    this.handle = null;
    this.resolveDone();
  }

  private capabilitiesOf(handle: InstanceHandle | null): RuntimeCapabilities {
    const { driver } = this.deps;
    return handle && driver.capabilitiesOf ? driver.capabilitiesOf(handle) : driver.capabilities;
  }

  private logPath(): string {
    return join(this.deps.logDir, `${this.id}.log`);
  }
}
