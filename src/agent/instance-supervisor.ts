import { join } from 'node:path';
import { RESTART_BACKOFF_MS, type InstanceAssignment, type InstanceReport, type InstanceState } from '../core/runtime.js';
import type { InstanceHandle, InstanceRelease, RuntimeCapabilities, RuntimeDriver } from '../runtime/runtime-driver.js';
import { probeHealth, type ProbeResult } from './health-probe.js';
import { readLogTail } from './log-tail.js';
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
  report(report: InstanceReport): Promise<'ok' | 'unknown_instance' | 'failed'>;
  logDir: string;
  log(message: string, data?: Record<string, unknown>): void;
}

/** How often the process is checked for an exit: bounds the time to notice a crash. */
const EXIT_POLL_MS = 100;
/**
 * How soon a starting instance whose port still refuses connections is checked again, in place
 * of `interval_ms`: an app that opens its port at 0.6 s is seen then, not at the next interval
 * (at 1 s, or 2 s). Below the tick, so in effect every tick. A refused connect costs next to
 * nothing; the costly look at the app's ports (wrong-port rule) keeps the configured interval.
 */
const STARTING_RECHECK_MS = 50;
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
 * checks its health, restarts it with crash-loop backoff (1 s, 2 s, 5 s, 30 s, 5 min) and fails
 * it once the budget is spent, drains and stops it when told. Every state change is reported
 * to the server. The process lives outside the agent, so a restarted agent re-adopts it
 * (`adopted`) instead of starting a copy.
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
  private probing = false;
  private backoffUntil = 0;
  private restarts: number;
  /** Crashes since the last stable run; indexes the backoff table. */
  private crashes = 0;
  private startedAt = 0;
  private everHealthy = false;
  private readonly wrongPort = new WrongPortWatch();
  /**
   * What the driver promises this instance: asked per handle (a composite driver runs some
   * releases on another driver), so until the first start it is the driver's own.
   */
  private capabilities: RuntimeCapabilities;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private unsent: InstanceReport | null = null;
  private retryReportAt = 0;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(assignment: InstanceAssignment, private readonly deps: SupervisorDeps, adopted: InstanceHandle | null = null) {
    this.a = assignment;
    this.handle = adopted;
    this.restarts = assignment.restart_count;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
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
    this.timer = setInterval(() => void this.tick(), EXIT_POLL_MS);
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
    clearInterval(this.timer);
    this.resolveDone();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.phase === 'done') return;
    this.busy = true;
    try {
      await this.step();
    } catch (err) {
      this.deps.log('instance supervision step failed', { id: this.id, err: (err as Error).message });
    } finally {
      this.busy = false;
    }
  }

  private async step(): Promise<void> {
    const now = Date.now();
    if (this.unsent && now >= this.retryReportAt) await this.flushReport();
    if (this.a.desired === 'stopped') return this.stopForGood('stopped', 'stopped as the control plane asked');
    if (this.phase === 'backoff') {
      if (now >= this.backoffUntil) await this.launch();
      return;
    }
    if (!this.handle) return this.launch();
    if (!(await this.deps.driver.isRunning(this.handle))) return this.onExit();
    if (now - this.startedAt > STABLE_RUN_MS) this.crashes = 0;
    if (!this.probing && now >= this.nextProbeAt) {
      this.probing = true;
      const result = await probeHealth(this.handle.address, this.a.health.path, this.a.health.timeout_ms).finally(() => (this.probing = false));
      this.nextProbeAt = this.recheckSoon(result) ? now + Math.min(STARTING_RECHECK_MS, this.a.health.interval_ms) : Date.now() + this.a.health.interval_ms;
      await this.onProbe(result);
    }
  }

  private async launch(): Promise<void> {
    this.phase = 'starting';
    this.passes = 0;
    this.fails = 0;
    this.wrongPort.reset();
    this.nextPortsLookAt = 0;
    // The report and the release do not wait for each other: a release new to this host is
    // downloaded and unpacked while the server hears of the start. Both settle before anything
    // else is reported, so the server hears `starting` before a failure of the same start.
    const starting = this.send('starting', null, { reason: this.restarts ? `restart ${this.restarts}` : 'starting' });
    const release = this.deps.release(this.a);
    await Promise.allSettled([starting, release]);
    await starting;
    try {
      this.handle = await this.deps.driver.start({
        id: this.id, release: await release, runCommand: this.a.run_command, port: this.a.port, env: this.a.env,
        resources: this.a.resources, logPath: this.logPath(),
      });
    } catch (err) {
      return this.startFailed(err);
    }
    this.capabilities = this.capabilitiesOf(this.handle);
    this.startedAt = Date.now();
    // The first check comes quickly: an app that boots in 50 ms should not wait a whole interval.
    this.nextProbeAt = this.startedAt + Math.min(100, this.a.health.interval_ms);
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
    const { code, reason } = await this.diagnose(result);
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

  /** Names what is wrong: not listening at all, listening elsewhere, or answering badly. */
  private async diagnose(result: ProbeResult & { ok: false }): Promise<{ code: string; reason: string }> {
    if (result.kind === 'refused' && this.handle) {
      const { port } = this.handle;
      const ports = await this.deps.driver.listeningPorts(this.handle);
      if (ports.length > 0 && !ports.includes(port)) {
        return { code: 'wrong_port', reason: wrongPortReason(ports, port, port !== this.a.port) };
      }
      if (ports.includes(port)) {
        // Bound to the instance's loopback only (a common default of dev servers): listening,
        // yet refusing the edge, which comes in through the instance's own address.
        return { code: 'not_listening', reason: `the app listens on port ${port} but refuses connections to ${this.handle.address}: listen on 0.0.0.0, not 127.0.0.1` };
      }
      return { code: 'not_listening', reason: `nothing listens on port ${port}` };
    }
    return { code: 'health_check_failed', reason: result.message };
  }

  private async onExit(): Promise<void> {
    const handle = this.handle!;
    const exit = await this.deps.driver.exitInfo(handle);
    await this.deps.driver.remove(handle);
    this.handle = null;
    const how = exit.oomKilled ? `was killed for using more than ${this.a.resources.memory_mb} MB of memory`
      : exit.exitCode !== null ? `exited with code ${exit.exitCode}` : exit.signal ? `was killed by ${exit.signal}` : 'exited';
    const code = exit.oomKilled ? 'oom_killed' : 'exited';
    const reason = `the app ${how}${this.everHealthy || this.phase === 'healthy' ? '' : ' before it became healthy'}`;
    this.phase = 'starting';
    if (this.a.fail_fast && !this.everHealthy) return this.stopForGood('failed', reason, code);
    await this.scheduleRestart(reason, code);
  }

  private async scheduleRestart(reason: string, code: string): Promise<void> {
    if (this.crashes >= this.a.crash_loop_budget) {
      return this.stopForGood('failed', `${reason}; gave up after ${this.crashes} restarts in a row (crash loop)`, code);
    }
    const delay = RESTART_BACKOFF_MS[Math.min(this.crashes, RESTART_BACKOFF_MS.length - 1)]!;
    this.crashes++;
    this.restarts++;
    this.phase = 'backoff';
    this.backoffUntil = Date.now() + delay;
    await this.send('starting', null, { reason: `${reason}; restarting in ${delay / 1000} s`, code });
  }

  /** Drains (when it was serving), stops and forgets the instance; reports the final state. */
  private async stopForGood(state: 'stopped' | 'failed', reason: string, code: string | null = null): Promise<void> {
    if (this.phase === 'stopping' || this.phase === 'done') return;
    const wasServing = this.phase === 'healthy' || this.phase === 'unhealthy';
    this.phase = 'stopping';
    if (this.handle) {
      if (state === 'stopped') {
        await this.send('stopping', this.handle.address, { reason, code });
        if (wasServing) await this.drain(this.handle);
      }
      await this.deps.driver.stop(this.handle, state === 'failed' ? 1000 : STOP_GRACE_MS);
      this.handle = null;
    }
    const tail = state === 'failed' ? await readLogTail(this.logPath(), 40) : undefined;
    await this.send(state, null, { reason, code, tail });
    this.phase = 'done';
    clearInterval(this.timer);
    this.resolveDone();
  }

  /**
   * Waits until no connection is open to the app, or the drain timeout passes (the whole
   * timeout when the driver cannot count connections).
   */
  private async drain(handle: InstanceHandle): Promise<void> {
    const deadline = Date.now() + this.a.drain_timeout_ms;
    while (Date.now() < deadline && (await this.deps.driver.isRunning(handle))) {
      if ((await this.deps.driver.connectionCount(handle)) === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async send(state: InstanceState, address: string | null, why: Why): Promise<void> {
    this.deps.log(`instance ${state}`, { id: this.id, reason: why.reason });
    this.unsent = {
      runtime_instance_id: this.id, state, address, reason: why.reason, reason_code: why.code ?? null, restart_count: this.restarts, log_tail: why.tail,
      unenforced_limits: unenforcedLimits(this.capabilities),
    };
    await this.flushReport();
  }

  /**
   * Sends the newest unsent report. One that fails is retried from the tick loop every second,
   * so a server that was away learns the current state as soon as it is back.
   */
  private async flushReport(): Promise<void> {
    const report = this.unsent;
    if (!report) return;
    const outcome = await this.deps.report(report);
    if (outcome === 'failed') {
      this.retryReportAt = Date.now() + 1000;
      return;
    }
    if (this.unsent === report) this.unsent = null;
    if (outcome === 'unknown_instance' && report.state !== 'stopped' && report.state !== 'failed') await this.forget();
  }

  /** The server does not know this instance (any more): stop it without reporting. */
  private async forget(): Promise<void> {
    this.phase = 'done';
    clearInterval(this.timer);
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

/** What the deployment should say about this host's limits: null when the driver enforces them. */
function unenforcedLimits(c: RuntimeCapabilities): string | null {
  return c.resourceLimits ? null : (c.resourceLimitsReason ?? 'the runtime driver does not enforce them');
}
