import type { Logger } from 'pino';
import type { ControllerNode } from '../actors/runtime/index.js';
import { attemptIdOf, taskIdOf, taskRef } from '../actors/shared/ids.js';
import type { ResourceRequirements } from '../actors/shared/resources.js';
import { taskCreateEvent, type TaskPlans } from '../jobs/task-plan.js';
import type { MailboxMessage } from '../store/store.js';
import { fits, subtract } from './capacity.js';
import type { LocalAgentPool } from './local-agents.js';
import type { ReadyAttempt, ReadyCandidate, ReadyJobRange, ReadyQueues } from './ready-queue.js';

/** Candidates looked at per class per placement round. */
const PEEK_DEPTH = 32;
/** Most tasks one placement round takes from one job's range (one commit creates and dispatches them). */
const MAX_RANGE_TAKE = 256;
/**
 * How long a round may place from the job ranges the previous round peeked
 * instead of peeking again (see `headOf`): a busy agent frees slots for a
 * fan-out all the time, and each round's peek was a store round trip queued
 * behind everything else on the event loop (about 2.5 ms of a 17 ms round).
 * Work queued meanwhile by other controllers waits at most this long to be
 * seen; work this process queues is seen at once.
 */
const HEAD_REUSE_MS = 25;

/** What a round peeked at the head of the ready queues: reused for job ranges only (attempts are claimed away). */
interface QueueHead {
  readonly profiles: string;
  readonly candidates: readonly ReadyCandidate[];
  readonly at: number;
}

type ReadyAttemptCandidate = ReadyCandidate & { readonly attempt: ReadyAttempt };

export interface PlacementOptions {
  readonly node: ControllerNode;
  readonly agents: LocalAgentPool;
  readonly queues: ReadyQueues;
  readonly taskPlans: TaskPlans;
  readonly logger: Logger;
}

/**
 * Placement on the agents whose streams this controller holds (pull-based,
 * ARCHITECTURE.md §5): peek the ready queues, pick what fits an agent's free
 * capacity, claim it atomically (one controller wins each attempt and each
 * task index of a job range) and tell the tasks `task.dispatched`. A task
 * taken from a job's range is created dispatched, from the job's plan
 * (`task.create` naming the worker).
 */
export class Placement {
  private readonly placing = new Set<string>();
  private readonly placeAgain = new Set<string>();
  private head: QueueHead | undefined;
  private readonly node: ControllerNode;
  private readonly agents: LocalAgentPool;
  private readonly queues: ReadyQueues;
  private readonly taskPlans: TaskPlans;
  private readonly logger: Logger;

  constructor(options: PlacementOptions) {
    this.node = options.node;
    this.agents = options.agents;
    this.queues = options.queues;
    this.taskPlans = options.taskPlans;
    this.logger = options.logger;
    this.queues.onJobEnqueued(() => (this.head = undefined));
  }

  /** Claims queued attempts for one local agent until nothing else fits. */
  async placeWork(workerId: string): Promise<void> {
    if (this.placing.has(workerId)) {
      this.placeAgain.add(workerId);
      return;
    }
    this.placing.add(workerId);
    try {
      do {
        this.placeAgain.delete(workerId);
        while (await this.placeOne(workerId));
      } while (this.placeAgain.has(workerId));
    } catch (error) {
      this.logger.warn({ err: error, workerId }, 'placement round failed');
    } finally {
      this.placing.delete(workerId);
    }
  }

  /**
   * One placement round: of the best waiting attempts and job ranges, takes
   * every attempt, and as many of a range's tasks, as still fit the agent
   * (best first), claims them and dispatches them in one commit. True when
   * anything was placed (there may be more).
   */
  private async placeOne(workerId: string, peekAgain = false): Promise<boolean> {
    const session = this.agents.session(workerId);
    if (!session) return false;
    const profiles = session.register.capacity?.profile === 'gpu' ? (['gpu', 'cpu'] as const) : (['cpu'] as const);
    const { candidates, reused } = await this.headOf(profiles, peekAgain);
    const now = Date.now();
    // What is left is worked out once and reduced as candidates are picked (attempts are held at once).
    let free = this.agents.free(workerId, now);
    const attempts: ReadyAttemptCandidate[] = [];
    const ranges: { range: ReadyJobRange; count: number }[] = [];
    for (const candidate of candidates) {
      if (free === undefined) break;
      if (candidate.attempt) {
        if (!fits(candidate.attempt.requirements, free)) continue;
        free = subtract(free, candidate.attempt.requirements);
        this.agents.hold(workerId, candidate.attempt.attemptId, candidate.attempt.requirements, now);
        attempts.push(candidate);
        continue;
      }
      let count = 0;
      while (count < Math.min(candidate.range.taskCount, MAX_RANGE_TAKE) && fits(candidate.range.requirements, free)) {
        free = subtract(free, candidate.range.requirements);
        count++;
      }
      if (count > 0) ranges.push({ range: candidate.range, count });
    }
    if (attempts.length === 0 && ranges.length === 0) return false;
    const [won, created] = await Promise.all([this.claimAttempts(workerId, profiles, attempts), this.takeFromJobs(workerId, ranges, now)]);
    if (won.length === 0 && created.length === 0) {
      // The ranges seen before ran out (or were closed): what the queue holds now decides.
      this.head = undefined;
      return reused ? this.placeOne(workerId, true) : false;
    }
    await this.node.applyNow([
      ...won.map(({ attempt }) => this.dispatchedMessage(attempt.taskId, attempt.attemptId, workerId)),
      ...created,
    ]);
    return true;
  }

  /**
   * The best waiting attempts and job ranges: peeked, or the previous round's
   * when it held job ranges only and is recent (`HEAD_REUSE_MS`). A range
   * found short (fewer tasks left than taken) forgets the head, so the next
   * round peeks.
   */
  private async headOf(profiles: readonly ResourceRequirements['profile'][], peekAgain: boolean): Promise<{ candidates: readonly ReadyCandidate[]; reused: boolean }> {
    const key = profiles.join(',');
    const head = this.head;
    if (!peekAgain && head !== undefined && head.profiles === key && Date.now() - head.at < HEAD_REUSE_MS) return { candidates: head.candidates, reused: true };
    const candidates = (await Promise.all(profiles.map((profile) => this.queues.peek(profile, PEEK_DEPTH)))).flat().sort((a, b) => a.score - b.score);
    this.head = candidates.length > 0 && candidates.every((candidate) => candidate.range !== undefined) ? { profiles: key, candidates, at: Date.now() } : undefined;
    return { candidates, reused: false };
  }

  /** Claims picked attempts, one store step per resource class; returns those this controller won. */
  private async claimAttempts(workerId: string, profiles: readonly ResourceRequirements['profile'][], picked: readonly ReadyAttemptCandidate[]): Promise<ReadyAttemptCandidate[]> {
    if (picked.length === 0) return [];
    const claimed = new Set<string>();
    for (const profile of profiles) {
      const members = picked.filter((candidate) => candidate.attempt.requirements.profile === profile).map((candidate) => candidate.member);
      if (members.length > 0) for (const member of await this.queues.claimMany(profile, members)) claimed.add(member);
    }
    return picked.filter((candidate) => {
      if (!claimed.has(candidate.member)) this.agents.unhold(workerId, candidate.attempt.attemptId); // another controller won it
      return claimed.has(candidate.member);
    });
  }

  /**
   * Takes task indexes from jobs' ranges and returns, per task taken, its
   * `task.create` (the job's plan, dispatched to `workerId`): a task comes to
   * exist in the step that dispatches it. Taken indexes are
   * held on the agent at once.
   */
  private async takeFromJobs(workerId: string, ranges: readonly { range: ReadyJobRange; count: number }[], now: number): Promise<MailboxMessage[]> {
    const messages: MailboxMessage[] = [];
    await Promise.all(
      ranges.map(async ({ range, count }) => {
        const taken = await this.queues.takeFromJob(range, count);
        if (taken === null || taken.to - taken.from < count) this.head = undefined;
        if (taken === null) return;
        const plan = await this.taskPlans.of(range.jobId);
        if (plan === null) {
          this.logger.warn({ jobId: range.jobId, from: taken.from, to: taken.to }, 'tasks taken from a job whose plan is gone; not created');
          return;
        }
        for (let index = taken.from; index < taken.to; index++) {
          const taskId = taskIdOf(range.jobId, index);
          const attemptId = attemptIdOf(taskId, 1);
          this.agents.hold(workerId, attemptId, range.requirements, now);
          // Created and dispatched in one step: the create event names the worker.
          const create = taskCreateEvent(plan.template, index, plan.payloads[index] ?? null, { dispatchTo: workerId });
          messages.push(this.node.message(taskRef(taskId), create, `create:${taskId}`));
        }
      }),
    );
    return messages;
  }

  private dispatchedMessage(taskId: string, attemptId: string, workerId: string): MailboxMessage {
    return this.node.message(taskRef(taskId), { type: 'task.dispatched', attemptId, workerId }, `dispatched:${attemptId}`);
  }
}
