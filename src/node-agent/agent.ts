/**
 * The node agent: keeps one registered stream to a controller, runs what it is
 * dispatched, and reports. Attempts outlive streams — a lost connection leaves
 * them running; the agent reconnects (backoff, next controller), registers
 * again and delivers results that finished meanwhile from its outbox.
 */
import { hostname as osHostname } from 'node:os';
import type { AgentMessage, Capacity, ControllerMessage, DispatchTask, Register, TaskFinished } from '../gen/computalot/agent/v1/agent.js';
import { randomAlnum } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { COMPUTALOT_VERSION } from '../shared/version.js';
import { rejectedFinished, startAttempt, type RunningAttempt } from './attempt-execution.js';
import { CapacityLedger } from './capacity.js';
import { openAgentConnection, type AgentConnection } from './connection.js';
import { FinishedOutbox } from './finished-outbox.js';
import { ProjectPreparations } from './project-preparations.js';
import type { ProjectPreparer } from './project-preparer.js';
import { ControllerRotation, DEFAULT_BACKOFF, backoffDelayMs, type BackoffPolicy } from './reconnect.js';
import type { TaskExecutor } from './task-executor.js';

/** Options of {@link NodeAgent}. Defaults are noted per field. */
export interface NodeAgentOptions {
  /** Controller agent endpoints (`HOST:PORT`), tried in turn. */
  readonly controllers: readonly string[];
  /** Total capacity (see `detectCapacity`). */
  readonly capacity: Capacity;
  /** Sandbox backends this node can run. */
  readonly sandboxKinds: readonly string[];
  readonly executor: TaskExecutor;
  readonly preparer: ProjectPreparer;
  readonly logger: Logger;
  /** Default: `<hostname>-<pid>-<6 random chars>`, fixed for the life of this object. */
  readonly agentId?: string;
  /** Default: `os.hostname()`. */
  readonly hostname?: string;
  /** Sealed recipe runtimes available. Default none. */
  readonly recipeRuntimes?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Shared secret for the controller (`controller.agent_token`). */
  readonly agentToken?: string | undefined;
  /** Reconnect delays. Default {@link DEFAULT_BACKOFF} (250 ms doubling to 10 s). */
  readonly backoff?: BackoffPolicy;
  /** Minimum ms between two TaskProgress reports of one attempt. Default 250. */
  readonly progressIntervalMs?: number;
  /** How long to wait for Registered, in ms. Default 10 000. */
  readonly registerTimeoutMs?: number;
  /** Called after each registration (for the CLI's "registered" line). */
  readonly onRegistered?: (info: AgentRegistration) => void;
}

/** One successful registration. */
export interface AgentRegistration {
  readonly controller: string;
  readonly workerId: string;
  readonly controllerId: string;
  readonly heartbeatIntervalMs: number;
}

/** Options of {@link NodeAgent.stop}. */
export interface NodeAgentStopOptions {
  /** How long running attempts may continue before they are aborted, in ms. Default 30 000. */
  readonly drainDeadlineMs?: number;
  /** How long to wait for the controller to acknowledge the last results, in ms. Default 5 000. */
  readonly deliveryDeadlineMs?: number;
}

/** Controller heartbeat intervals below this are raised to it, in ms (a misconfigured 0 would spin). */
const MIN_HEARTBEAT_INTERVAL_MS = 100;

/** A node agent. `start()` once; `stop()` to drain and leave. */
export class NodeAgent {
  readonly agentId: string;
  private readonly options: NodeAgentOptions;
  private readonly logger: Logger;
  private readonly ledger: CapacityLedger;
  private readonly outbox: FinishedOutbox;
  private readonly preparations: ProjectPreparations;
  private readonly rotation: ControllerRotation;
  private readonly running = new Map<string, RunningAttempt>();
  private connection: AgentConnection | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  /** Set by stop(): no reconnects, no new attempts. */
  private stopping = false;
  /** No new attempts (stop() or a controller's Drain). */
  private draining = false;
  private wakeReconnect: (() => void) | undefined;
  private connectionClosed: (() => void) | undefined;

  constructor(options: NodeAgentOptions) {
    this.options = options;
    const host = options.hostname ?? osHostname();
    this.agentId = options.agentId ?? `${host.replace(/[^A-Za-z0-9._-]/g, '-')}-${process.pid}-${randomAlnum(6)}`;
    this.logger = options.logger.child({ agentId: this.agentId });
    this.ledger = new CapacityLedger(options.capacity);
    this.outbox = new FinishedOutbox(this.logger);
    this.rotation = new ControllerRotation(options.controllers);
    this.preparations = new ProjectPreparations({ preparer: options.preparer, send: (message) => this.send(message), logger: this.logger });
  }

  /** What the agent is doing now; for logs and tests. */
  status(): { connected: boolean; workerId: string | undefined; controller: string | undefined; runningAttemptIds: string[]; unacknowledgedResults: number } {
    const open = this.connection !== undefined && !this.connection.isClosed ? this.connection : undefined;
    return {
      connected: open !== undefined,
      workerId: open?.registered.workerId,
      controller: open?.target,
      runningAttemptIds: [...this.running.keys()],
      unacknowledgedResults: this.outbox.size,
    };
  }

  /** Starts connecting; returns at once. The agent keeps (re)connecting until stopped. */
  start(): void {
    if (this.loop !== undefined) throw new Error('agent already started');
    this.loop = this.connectLoop();
  }

  /**
   * Stops taking work, lets running attempts finish until the drain deadline,
   * aborts the rest, gives the controller a moment to acknowledge the results,
   * then closes the stream.
   */
  async stop({ drainDeadlineMs = 30_000, deliveryDeadlineMs = 5_000 }: NodeAgentStopOptions = {}): Promise<void> {
    this.draining = true;
    const allFinished = Promise.allSettled([...this.running.values()].map((attempt) => attempt.finished));
    if (!(await settlesWithin(allFinished, drainDeadlineMs))) {
      this.logger.warn({ running: [...this.running.keys()] }, 'drain deadline passed; aborting running attempts');
      for (const attempt of this.running.values()) attempt.abort('agent stopping');
      await allFinished;
    }
    await this.preparations.stop();
    // The loop keeps reconnecting meanwhile, so results held while disconnected still get their chance.
    await waitUntil(() => this.outbox.size === 0, deliveryDeadlineMs);
    this.stopping = true;
    this.wakeReconnect?.();
    this.connection?.close('agent stopping');
    await this.loop;
  }

  private async connectLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const target = this.rotation.current;
      try {
        const closed = new Promise<void>((resolve) => (this.connectionClosed = resolve));
        const connection = await openAgentConnection({
          target,
          register: this.buildRegister(),
          agentToken: this.options.agentToken,
          registerTimeoutMs: this.options.registerTimeoutMs ?? 10_000,
          onMessage: (message) => this.onControllerMessage(message),
          onClosed: (reason) => this.onDisconnected(reason),
        });
        failures = 0;
        if (this.stopping) {
          connection.close('agent stopping');
          break;
        }
        this.onConnected(connection);
        await closed;
      } catch (error) {
        failures += 1;
        this.logger.warn({ controller: target, failures, err: error }, 'connecting to controller failed');
      }
      if (this.stopping) break;
      this.rotation.advance();
      const delay = failures === 0 ? 0 : backoffDelayMs(failures, this.options.backoff ?? DEFAULT_BACKOFF);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeReconnect = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private onConnected(connection: AgentConnection): void {
    this.connection = connection;
    const { workerId, heartbeatIntervalMs, controllerId } = connection.registered;
    this.logger.info({ controller: connection.target, workerId, controllerId }, 'registered with controller');
    this.sendHeartbeat();
    const interval = Math.max(MIN_HEARTBEAT_INTERVAL_MS, heartbeatIntervalMs);
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), interval);
    for (const finished of this.outbox.pending()) this.send({ kind: { $case: 'taskFinished', value: finished } });
    this.preparations.resendUnsent();
    this.options.onRegistered?.({ controller: connection.target, workerId, controllerId, heartbeatIntervalMs: interval });
  }

  private onDisconnected(reason: string): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.logger.warn({ reason, running: this.running.size }, 'disconnected from controller');
    this.connectionClosed?.();
  }

  private onControllerMessage(message: ControllerMessage): void {
    const kind = message.kind;
    switch (kind?.$case) {
      case 'dispatchTask':
        return this.acceptDispatch(kind.value);
      case 'cancelTask':
        return this.cancelAttempt(kind.value.attemptId, kind.value.reason);
      case 'prepareProject':
        return this.preparations.handle(kind.value);
      case 'taskFinishedAck':
        this.outbox.acknowledge(kind.value.attemptId);
        return;
      case 'drain':
        return this.drainForController(kind.value.reason);
      case 'registered':
      case 'ping':
      case 'batch': // connection.ts hands a batch over message by message
      case undefined:
        return;
    }
  }

  private acceptDispatch(dispatch: DispatchTask): void {
    const attemptId = dispatch.attemptId;
    // A dispatch seen before (redelivered after a reconnect): confirm, never run twice.
    if (this.running.has(attemptId) || this.outbox.has(attemptId)) {
      this.send({ kind: { $case: 'taskAccepted', value: { attemptId } } });
      return;
    }
    if (this.draining) return this.finish(rejectedFinished(attemptId, 'agent is draining'));
    const reservation = this.ledger.reserve(attemptId, dispatch.requirements);
    if (!reservation.ok) return this.finish(rejectedFinished(attemptId, reservation.shortfall));
    // No TaskAccepted for a new dispatch: TaskStarted or TaskFinished follows (agent.proto).
    const attempt = startAttempt({
      dispatch,
      executor: this.options.executor,
      placement: { gpuIndices: reservation.gpuIndices },
      progressIntervalMs: this.options.progressIntervalMs ?? 250,
      report: (report) => this.send(report),
      logger: this.logger,
    });
    this.running.set(attemptId, attempt);
    void attempt.finished.then((finished) => {
      this.running.delete(attemptId);
      this.ledger.release(attemptId);
      this.finish(finished);
    });
  }

  private cancelAttempt(attemptId: string, reason: string): void {
    const attempt = this.running.get(attemptId);
    if (attempt !== undefined) return attempt.abort(reason || 'cancelled by controller');
    // Finished already: its result is in the outbox (or delivered). Never seen: say so, once.
    if (!this.outbox.has(attemptId)) {
      this.finish({ ...rejectedFinished(attemptId, 'attempt is not running on this agent'), failureKind: 'cancelled' });
    }
  }

  private drainForController(reason: string): void {
    this.logger.info({ reason }, 'controller asked to drain');
    this.draining = true;
    const connection = this.connection;
    void Promise.allSettled([...this.running.values()].map((attempt) => attempt.finished))
      .then(() => waitUntil(() => this.outbox.size === 0 || connection?.isClosed !== false, 5_000))
      .then(() => {
        // The next stream (to this or another controller) starts with fresh capacity.
        connection?.close(`drained: ${reason}`);
        if (!this.stopping) this.draining = false;
      });
  }

  /** Keeps the result until acknowledged and sends it now when a stream is open. */
  private finish(finished: TaskFinished): void {
    this.outbox.add(finished);
    this.send({ kind: { $case: 'taskFinished', value: finished } });
  }

  private send(message: AgentMessage): boolean {
    const connection = this.connection;
    return connection !== undefined && connection.send(message);
  }

  private sendHeartbeat(): void {
    this.send({ kind: { $case: 'heartbeat', value: { sentAtMs: Date.now(), runningAttemptIds: [...this.running.keys()], free: this.ledger.free() } } });
  }

  private buildRegister(): Register {
    return {
      agentId: this.agentId,
      hostname: this.options.hostname ?? osHostname(),
      capacity: this.options.capacity,
      sandboxKinds: [...this.options.sandboxKinds],
      recipeRuntimes: [...(this.options.recipeRuntimes ?? [])],
      labels: { ...this.options.labels },
      agentVersion: COMPUTALOT_VERSION,
      // connection.ts reads batches, and sends them when the controller reads them too.
      acceptsBatches: true,
    };
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = promise.then(() => true);
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}

async function waitUntil(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
}
