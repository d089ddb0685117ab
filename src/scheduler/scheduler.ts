import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { normaliseRequirements } from '../actors/shared/resources.js';
import { parseTaskId, taskRef, workerRef } from '../actors/shared/ids.js';
import { TaskPlans } from '../jobs/task-plan.js';
import { scoreResult } from '../jobs/aggregate/index.js';
import { TASK_EFFECT } from '../actors/task/task.events.js';
import { WORKER_EFFECT } from '../actors/worker/worker.events.js';
import type { ControllerNode, EffectHandler, ExternalEffect } from '../actors/runtime/index.js';
import type { AgentSession, AgentSessionHandler, AgentTaskEvent } from '../gateway/agents/agent-session.js';
import type { ControllerMessage, Heartbeat, ProjectPrepared, Register } from '../gen/computalot/agent/v1/agent.js';
import { stringOf, type JsonObject } from '../shared/json.js';
import type { MailboxMessage, Store } from '../store/store.js';
import { appendTail, taskEventFromFinished, taskIdOfAttempt } from './agent-reports.js';
import { buildDispatch, type DispatchEffectData, type DispatchRevisionRef, type RevisionResolver } from './dispatch.js';
import { JobFacts } from './job-facts.js';
import { AGENT_GROUP } from './job-effects.js';
import { LocalAgentPool } from './local-agents.js';
import { Placement } from './placement.js';
import { ReadyQueues } from './ready-queue.js';
import { GroupCommit } from './group-commit.js';
import { StartFolding } from './start-folding.js';
import { WorkerAllocationBatches } from './worker-allocations.js';

export interface SchedulerOptions {
  readonly node: ControllerNode;
  readonly store: Store;
  readonly logger: Logger;
  /** Interval agents heartbeat at (ms). Default 2 000. */
  readonly heartbeatIntervalMs?: number;
  /** Missed heartbeats before a worker is declared lost. Default 3. */
  readonly missedHeartbeatsAllowed?: number;
  /** How often local agents look for queued work and forwarded commands (ms). Default 100. */
  readonly pollIntervalMs?: number;
  /** Finds the project revision a dispatch runs (content hash, tarball location, env). */
  readonly resolveRevision?: RevisionResolver;
  /** Called when a dispatch asks an agent to prepare a revision (to attribute its reports). */
  readonly onPreparationRequested?: (accountId: string, project: string, contentHash: string) => void;
  /** Called when an agent reports a project revision's preparation state. */
  readonly onProjectPrepared?: (workerId: string, message: ProjectPrepared) => void;
  /** How long an agent's `started` report may wait to be folded into the result (ms); 0 sends it at once. Default 200. */
  readonly startHoldMs?: number;
}


/** A command for an agent whose stream another controller holds. */
type ForwardedCommand = { kind: 'dispatch'; data: DispatchEffectData } | { kind: 'cancel'; attemptId: string; reason: string };

/**
 * Pull-based scheduling (ARCHITECTURE.md §5). Ready attempts and jobs'
 * ranges of tasks to come wait in the store's priority queues; the controller
 * holding an agent's stream claims what fits the agent's free capacity
 * (`Placement`: atomic claims, so one controller wins each), tells the task
 * actor, and — once the task accepted (its `task.dispatch` effect) — sends the
 * dispatch on the stream.
 * Commands for an agent on another controller travel through a per-worker
 * queue in the store that its controller polls.
 */
export class Scheduler implements AgentSessionHandler {
  readonly agents = new LocalAgentPool();
  /** The ready queues; the job effects queue jobs' ranges through the same instance. */
  readonly queues: ReadyQueues;
  private readonly node: ControllerNode;
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly heartbeatIntervalMs: number;
  private readonly missedHeartbeatsAllowed: number;
  private readonly pollIntervalMs: number;
  private readonly outputTails = new Map<string, string>();
  /** `<workerId> <contentHash>` pairs already asked to prepare. */
  private readonly preparationAsked = new Set<string>();
  private readonly jobFacts: JobFacts;
  private readonly placement: Placement;
  private readonly starts: StartFolding;
  private readonly allocations: WorkerAllocationBatches;
  private poller: NodeJS.Timeout | undefined;
  /** Agents' reports, applied in batches (see `sendBatched`). */
  private readonly reports: GroupCommit;
  /** Revision lookups in flight, shared by the concurrent dispatches of one project. */
  private readonly revisionLookups = new Map<string, Promise<DispatchRevisionRef | null>>();

  constructor(private readonly options: SchedulerOptions) {
    this.node = options.node;
    this.store = options.store;
    this.logger = options.logger.child({ component: 'scheduler' });
    this.queues = new ReadyQueues(options.store);
    this.jobFacts = new JobFacts(options.node);
    this.placement = new Placement({ node: options.node, agents: this.agents, queues: this.queues, taskPlans: TaskPlans.for(options.node, options.store), logger: this.logger });
    // A job queued by this process is placed at once, not at the next poll.
    this.queues.onJobEnqueued(() => {
      for (const session of this.agents.sessions()) void this.placeWork(session.workerId);
    });
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2_000;
    this.missedHeartbeatsAllowed = options.missedHeartbeatsAllowed ?? 3;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.reports = new GroupCommit((messages) => this.node.applyNow(messages));
    this.allocations = new WorkerAllocationBatches(options.node, (error, workers) => this.logger.warn({ err: error, workers }, 'worker allocations not recorded'));
    this.starts = new StartFolding(options.startHoldMs ?? 200, (attemptId, at) =>
      this.sendToActor(taskRef(taskIdOfAttempt(attemptId)), { type: 'task.started', attemptId, at }, `agent:${attemptId}:started`),
    );
  }

  start(): void {
    this.poller ??= setInterval(() => void this.pollLocalAgents(), this.pollIntervalMs);
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    this.starts.releaseAll();
  }

  /** The effect handlers this scheduler runs for the task and worker machines. */
  effectHandlers(): Map<string, EffectHandler> {
    return new Map<string, EffectHandler>([
      [TASK_EFFECT.enqueue, (effect) => this.enqueue(effect)],
      [TASK_EFFECT.dequeue, (effect) => this.dequeue(effect)],
      [TASK_EFFECT.dispatch, (effect) => this.dispatch(effect)],
      [TASK_EFFECT.kill, (effect) => this.kill(effect)],
      [WORKER_EFFECT.capacityAvailable, async (effect) => this.placeWork((effect.data as JsonObject).workerId as string)],
      [WORKER_EFFECT.drain, async (effect) => void this.agents.session((effect.data as JsonObject).workerId as string)?.send({ kind: { $case: 'drain', value: { reason: stringOf((effect.data as JsonObject).reason, 'drain requested') } } })],
      [WORKER_EFFECT.reregisterRequired, async (effect) => this.agents.session((effect.data as JsonObject).workerId as string)?.close('registration lost; register again')],
    ]);
  }

  // ── AgentSessionHandler ─────────────────────────────────────────────────

  /**
   * Creates the worker actor before the agent hears its id. Applied now, like
   * everything the agent's stream reports later (`worker.registered`,
   * heartbeats, allocations): sent through the mailbox instead, it could be
   * overtaken by those, and a worker that did not exist yet would drop them —
   * left in `registering` for good.
   */
  async onRegister(register: Register): Promise<{ workerId: string; heartbeatIntervalMs: number }> {
    const workerId = `wrk_${randomBytes(8).toString('hex')}`;
    const capacity = register.capacity;
    await this.node.applyNow([
      this.node.message(
        workerRef(workerId),
        {
          type: 'worker.register',
          controllerId: this.node.controllerId,
          capacity: {
            cpu: capacity?.cpu ?? 0,
            memoryMb: capacity?.memoryMb ?? 0,
            storageGb: capacity?.storageGb ?? 0,
            gpus: (capacity?.gpus ?? []).map((gpu) => ({ index: gpu.index, memoryMb: gpu.memoryMb })),
            profile: capacity?.profile === 'gpu' ? 'gpu' : 'cpu',
            sandboxes: register.sandboxKinds,
            runtimes: register.recipeRuntimes,
          },
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          missedHeartbeatsAllowed: this.missedHeartbeatsAllowed,
          agentVersion: register.agentVersion,
        },
        `register:${workerId}`,
      ),
    ]);
    return { workerId, heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  onSessionOpen(session: AgentSession): void {
    this.agents.add(session);
    this.markAgentLive(session.workerId);
    this.sendToActor(workerRef(session.workerId), { type: 'worker.registered' }, `registered:${session.workerId}`);
    this.logger.info({ workerId: session.workerId, hostname: session.register.hostname, capacity: session.register.capacity }, 'agent registered');
    void this.placeWork(session.workerId);
  }

  onHeartbeat(session: AgentSession, _heartbeat: Heartbeat): void {
    // The attempts this controller knows the agent runs: the worker drops allocations whose release was lost.
    this.sendToActor(workerRef(session.workerId), { type: 'worker.heartbeat', running: this.agents.attemptsOf(session.workerId) });
    this.markAgentLive(session.workerId);
  }

  /** Agents' liveness in the store, so any controller can tell whether capacity exists. */
  private markAgentLive(workerId: string): void {
    const ttlMs = this.heartbeatIntervalMs * this.missedHeartbeatsAllowed;
    this.store.heartbeatMember(AGENT_GROUP, workerId, { controllerId: this.node.controllerId }, ttlMs).catch((error: unknown) => this.logger.warn({ err: error, workerId }, 'agent liveness not recorded'));
  }

  /**
   * Reports become task-actor events with deterministic ids, so a report the
   * agent sends again (it resends results until acknowledged) applies once.
   * A result is acknowledged only after it is durable in the task's mailbox.
   */
  onTaskEvent(session: AgentSession, event: AgentTaskEvent): void | Promise<void> {
    const at = Date.now();
    const attemptId = event.message.attemptId;
    const task = taskRef(taskIdOfAttempt(attemptId));
    switch (event.kind) {
      case 'accepted':
        return;
      case 'started':
        this.starts.hold(attemptId, at);
        return;
      case 'progress': {
        this.starts.releaseNow(attemptId);
        const tail = appendTail(this.outputTails.get(attemptId) ?? '', event.message.outputChunk);
        this.outputTails.set(attemptId, tail);
        let progress = null;
        try {
          progress = event.message.progressJson ? (JSON.parse(event.message.progressJson) as JsonObject) : null;
        } catch {
          // The agent parses progress lines; a bad one is dropped rather than failing the task.
        }
        this.sendToActor(task, { type: 'task.progress', attemptId, progress, outputTail: tail });
        return;
      }
      case 'finished': {
        this.outputTails.delete(attemptId);
        this.agents.release(session.workerId, attemptId);
        this.allocations.release(session.workerId, attemptId);
        const taskEvent = taskEventFromFinished(event.message, at, this.starts.take(attemptId));
        void this.placeWork(session.workerId);
        if (!taskEvent) return;
        return this.scoreAndSend(task, taskEvent, `agent:${attemptId}:finished`);
      }
    }
  }

  /**
   * A successful result is scored against its job's result schema (defaults
   * per job type plus `result_schema`) before it reaches the task: quality is
   * advisory, the result is kept whatever its score.
   */
  private async scoreAndSend(task: { kind: string; id: string }, taskEvent: JsonObject & { type: string }, eventId: string): Promise<void> {
    if (taskEvent.type === 'task.succeeded') {
      const schema = await this.jobFacts.resultSchema(taskIdOfJob(task.id));
      if (schema) {
        const score = scoreResult(taskEvent.result ?? null, schema);
        taskEvent = { ...taskEvent, resultQuality: score.quality, resultWarnings: score.warnings };
      }
    }
    await this.sendBatched(this.node.message(task, taskEvent, eventId));
  }

  /**
   * Reports arrive by the hundred per second from a busy agent; they are
   * applied as group commits (`GroupCommit`). Resolves once the message is
   * durable (what acknowledging a result waits for).
   */
  private sendBatched(message: MailboxMessage): Promise<void> {
    return this.reports.add(message);
  }

  /** The active revision of a project; concurrent lookups of the same one share a read. */
  private resolveRevision(accountId: string, project: string): Promise<DispatchRevisionRef | null> {
    const resolve = this.options.resolveRevision;
    if (!resolve) return Promise.resolve(null);
    const key = `${accountId}\u0000${project}`;
    let lookup = this.revisionLookups.get(key);
    if (lookup === undefined) {
      lookup = resolve(accountId, project).finally(() => this.revisionLookups.delete(key));
      this.revisionLookups.set(key, lookup);
    }
    return lookup;
  }

  /** Asks every local agent (or the named ones) to prepare a project revision ahead of jobs. */
  requestPreparation(project: string, contentHash: string, tarballRef: string, workerIds: readonly string[] = []): number {
    const targets = this.agents.sessions().filter((session) => workerIds.length === 0 || workerIds.includes(session.workerId));
    for (const session of targets) {
      session.send({ kind: { $case: 'prepareProject', value: { project, contentHash, source: { $case: 'tarballUrl', value: tarballRef } } } });
    }
    return targets.length;
  }

  /**
   * On-demand preparation (the first task of a revision on a node) goes
   * through the same `PrepareProject` path as `init`, so the node's state is
   * reported either way; the agent dedupes it with the task's own preparation.
   */
  private askToPrepare(session: AgentSession, accountId: string, project: string, contentHash: string, tarballRef: string): void {
    const key = `${session.workerId} ${contentHash}`;
    if (!project || !contentHash || this.preparationAsked.has(key)) return;
    this.preparationAsked.add(key);
    this.options.onPreparationRequested?.(accountId, project, contentHash);
    session.send({ kind: { $case: 'prepareProject', value: { project, contentHash, source: { $case: 'tarballUrl', value: tarballRef } } } });
  }

  onProjectPrepared(session: AgentSession, message: ProjectPrepared): void {
    this.options.onProjectPrepared?.(session.workerId, message);
  }

  onSessionClosed(session: AgentSession, reason: string): void {
    const attempts = this.agents.remove(session.workerId);
    for (const key of this.preparationAsked) if (key.startsWith(`${session.workerId} `)) this.preparationAsked.delete(key);
    this.store.removeMember(AGENT_GROUP, session.workerId).catch((error: unknown) => this.logger.warn({ err: error }, 'agent liveness not removed'));
    for (const attemptId of attempts) this.outputTails.delete(attemptId);
    // Loss is decided by missed heartbeats (the worker actor's timer), not by one broken stream.
    this.sendToActor(workerRef(session.workerId), { type: 'worker.disconnected' });
    this.logger.info({ workerId: session.workerId, reason, running: attempts.length }, 'agent stream closed');
  }

  // ── placement ───────────────────────────────────────────────────────────

  /** Claims queued work for one local agent until nothing else fits (see `Placement`). */
  placeWork(workerId: string): Promise<void> {
    return this.placement.placeWork(workerId);
  }

  private async pollLocalAgents(): Promise<void> {
    for (const session of this.agents.sessions()) {
      try {
        const forwarded = await this.store.queuePop(commandQueue(session.workerId), 50);
        for (const item of forwarded) await this.runForwarded(session, JSON.parse(item.member) as ForwardedCommand);
      } catch (error) {
        this.logger.warn({ err: error, workerId: session.workerId }, 'reading forwarded agent commands failed');
      }
      void this.placeWork(session.workerId);
    }
  }

  // ── effect handlers ─────────────────────────────────────────────────────

  private async enqueue(effect: ExternalEffect): Promise<void> {
    const data = effect.data as JsonObject;
    await this.queues.enqueue(data.taskId as string, data.attemptId as string, data.requirements ?? null, (data.priority as string) ?? 'normal', effect.at);
    for (const session of this.agents.sessions()) void this.placeWork(session.workerId);
  }

  private async dequeue(effect: ExternalEffect): Promise<void> {
    const data = effect.data as JsonObject;
    await this.queues.dequeue(data.taskId as string, data.attemptId as string, data.requirements ?? null);
  }

  private async dispatch(effect: ExternalEffect): Promise<void> {
    const data = effect.data as unknown as DispatchEffectData;
    const session = this.agents.session(data.workerId);
    if (session) return this.sendDispatch(session, data);
    await this.forward(data.workerId, { kind: 'dispatch', data });
  }

  private async kill(effect: ExternalEffect): Promise<void> {
    const data = effect.data as JsonObject;
    const workerId = data.workerId as string | null;
    if (!workerId) return;
    const command: ForwardedCommand = { kind: 'cancel', attemptId: data.attemptId as string, reason: (data.reason as string) ?? 'cancelled' };
    const session = this.agents.session(workerId);
    if (session) return this.runForwarded(session, command);
    await this.forward(workerId, command);
  }

  private async forward(workerId: string, command: ForwardedCommand): Promise<void> {
    await this.store.queuePush(commandQueue(workerId), [{ member: JSON.stringify(command), score: Date.now() }]);
  }

  private async runForwarded(session: AgentSession, command: ForwardedCommand): Promise<void> {
    if (command.kind === 'dispatch') return this.sendDispatch(session, command.data);
    session.send({ kind: { $case: 'cancelTask', value: { attemptId: command.attemptId, reason: command.reason } } });
  }

  private async sendDispatch(session: AgentSession, data: DispatchEffectData): Promise<void> {
    const resolveRevision = this.options.resolveRevision ? (accountId: string, project: string) => this.resolveRevision(accountId, project) : undefined;
    const dispatch = await buildDispatch((jobId) => this.jobFacts.dispatchInfo(jobId), data, resolveRevision);
    this.askToPrepare(session, dispatch.accountId, dispatch.project, dispatch.contentHash, dispatch.tarballUrl);
    const message: ControllerMessage = { kind: { $case: 'dispatchTask', value: dispatch } };
    this.agents.hold(session.workerId, data.attemptId, normaliseRequirements(data.requirements), Date.now());
    this.agents.confirm(session.workerId, data.attemptId);
    // On the worker's books, so a lost worker's tasks hear of the loss.
    this.allocations.assign(session.workerId, { taskId: data.taskId, attemptId: data.attemptId, requirements: data.requirements });
    if (!session.send(message)) throw new Error(`agent stream of ${session.workerId} is closed`);
  }

  private sendToActor(ref: { kind: string; id: string }, event: JsonObject & { type: string }, eventId?: string): void {
    this.sendBatched(this.node.message(ref, event, eventId)).catch((error: unknown) => this.logger.error({ err: error, ref, eventType: event.type }, 'could not deliver agent report'));
  }
}

function taskIdOfJob(taskId: string): string {
  return parseTaskId(taskId)?.jobId ?? taskId;
}

function commandQueue(workerId: string): string {
  return `agent-commands:${workerId}`;
}
