import { normaliseRequirements, type ResourceRequirements } from '../actors/shared/resources.js';
import type { JsonValue } from '../shared/json.js';
import type { QueueItem, Store } from '../store/store.js';

/** One attempt waiting for a worker, as the ready queue holds it. */
export interface ReadyAttempt {
  readonly attemptId: string;
  readonly taskId: string;
  readonly requirements: ResourceRequirements;
}

/**
 * A job's tasks not created yet, waiting as one member: the scheduler takes
 * task indexes from it in order (see `src/jobs/task-plan.ts`).
 */
export interface ReadyJobRange {
  readonly jobId: string;
  readonly taskCount: number;
  readonly requirements: ResourceRequirements;
}

/** What the scheduler sees at the head of a queue: one attempt, or a job's range of tasks. */
export type ReadyCandidate =
  | { readonly member: string; readonly score: number; readonly attempt: ReadyAttempt; readonly range?: undefined }
  | { readonly member: string; readonly score: number; readonly range: ReadyJobRange; readonly attempt?: undefined };

const RANGE_TAG = 'range';

/** Lower bands are served first; age orders a band (ARCHITECTURE.md §5). */
const PRIORITY_BAND = { high: 0, normal: 1, low: 2 } as const;
const BAND_WIDTH = 1e14;

/**
 * Ready queues, one per resource class (`cpu`, `gpu`), in the store so every
 * controller sees the same queue and a claim (removal) succeeds for exactly
 * one of them. A member carries the requirements, so placement needs no
 * extra read; it is rebuilt from the same data to dequeue.
 */
export class ReadyQueues {
  /** Per queue, the pushes waiting for this turn's single store call (see `push`). */
  private readonly pendingPushes = new Map<string, { items: QueueItem[]; flushed: Promise<void> }>();
  private readonly rangeListeners: (() => void)[] = [];

  constructor(private readonly store: Store) {}

  static queueName(profile: ResourceRequirements['profile']): string {
    return `ready:${profile}`;
  }

  static encode(attempt: ReadyAttempt): string {
    const r = attempt.requirements;
    return [attempt.attemptId, attempt.taskId, r.cpu, r.memoryMb, r.storageGb, r.gpuCount, r.gpuMemoryMb, r.profile].join('|');
  }

  static decode(member: string): ReadyAttempt | undefined {
    const [attemptId, taskId, ...requirements] = member.split('|');
    const decoded = decodeRequirements(requirements);
    if (!attemptId || attemptId === RANGE_TAG || !taskId || !decoded) return undefined;
    return { attemptId, taskId, requirements: decoded };
  }

  static encodeRange(range: ReadyJobRange): string {
    const r = range.requirements;
    return [RANGE_TAG, range.jobId, range.taskCount, r.cpu, r.memoryMb, r.storageGb, r.gpuCount, r.gpuMemoryMb, r.profile].join('|');
  }

  static decodeRange(member: string): ReadyJobRange | undefined {
    const [tag, jobId, taskCount, ...requirements] = member.split('|');
    const decoded = decodeRequirements(requirements);
    if (tag !== RANGE_TAG || !jobId || !decoded || !Number.isSafeInteger(Number(taskCount))) return undefined;
    return { jobId, taskCount: Number(taskCount), requirements: decoded };
  }

  async enqueue(taskId: string, attemptId: string, requirements: JsonValue, priority: string, at: number): Promise<void> {
    const attempt = { taskId, attemptId, requirements: normaliseRequirements(requirements) };
    await this.push(ReadyQueues.queueName(attempt.requirements.profile), { member: ReadyQueues.encode(attempt), score: scoreOf(priority, at) });
  }

  /**
   * Queues a job's `taskCount` tasks (not created yet) as one range, ranked
   * like an attempt of the job's priority submitted at `at`. A job's range is
   * queued once: pushing it again, even after it ran out, changes nothing.
   */
  async enqueueJob(jobId: string, taskCount: number, requirements: JsonValue, priority: string, at: number): Promise<void> {
    if (taskCount <= 0) return;
    const range = { jobId, taskCount, requirements: normaliseRequirements(requirements) };
    await this.store.queuePushRange(ReadyQueues.queueName(range.requirements.profile), ReadyQueues.encodeRange(range), scoreOf(priority, at));
    for (const listener of this.rangeListeners) listener();
  }

  /** Takes up to `max` of a range's task indexes: `[from, to)`, or null when none is left. */
  async takeFromJob(range: ReadyJobRange, max: number): Promise<{ from: number; to: number } | null> {
    return this.store.queueTakeRange(ReadyQueues.queueName(range.requirements.profile), ReadyQueues.encodeRange(range), range.taskCount, max);
  }

  /**
   * Stops handing out the job's tasks. Returns how many were handed out
   * (indexes below it may exist as tasks; none above ever will). A job
   * whose range was never queued is barred from queueing it later.
   */
  async closeJob(jobId: string, taskCount: number, requirements: JsonValue): Promise<number> {
    const { queue, member } = jobRange(jobId, taskCount, requirements);
    return (await this.store.queueCloseRange(queue, member)) ?? 0;
  }

  /** How many of the job's tasks were handed out so far (0 when its range was never queued). */
  async handedOut(jobId: string, taskCount: number, requirements: JsonValue): Promise<number> {
    const { queue, member } = jobRange(jobId, taskCount, requirements);
    return (await this.store.queueRangeCursor(queue, member)) ?? 0;
  }

  /** Drops every trace of the job's range (the job is deleted). */
  async forgetJob(jobId: string, taskCount: number, requirements: JsonValue): Promise<void> {
    const { queue, member } = jobRange(jobId, taskCount, requirements);
    await this.store.queueForgetRange(queue, member);
  }

  /** Called after a job's range is queued by this process (the scheduler places work at once). */
  onJobEnqueued(listener: () => void): void {
    this.rangeListeners.push(listener);
  }

  /**
   * A fan-out's enqueue effects run concurrently: the pushes made in one turn
   * of the event loop go to the store as one call, and each caller resolves
   * (or fails, to be retried from the outbox) with it.
   */
  private push(queue: string, item: QueueItem): Promise<void> {
    let batch = this.pendingPushes.get(queue);
    if (batch === undefined) {
      const items: QueueItem[] = [];
      const flushed = new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          this.pendingPushes.delete(queue);
          this.store.queuePush(queue, items).then(resolve, reject);
        }),
      );
      this.pendingPushes.set(queue, (batch = { items, flushed }));
    }
    batch.items.push(item);
    return batch.flushed;
  }

  async dequeue(taskId: string, attemptId: string, requirements: JsonValue): Promise<void> {
    const attempt = { taskId, attemptId, requirements: normaliseRequirements(requirements) };
    await this.store.queueRemove(ReadyQueues.queueName(attempt.requirements.profile), [ReadyQueues.encode(attempt)]);
  }

  /** The best `count` waiting attempts and job ranges of a class, without taking them. */
  async peek(profile: ResourceRequirements['profile'], count: number): Promise<ReadyCandidate[]> {
    const items = await this.store.queuePeek(ReadyQueues.queueName(profile), count);
    return items.flatMap((item): ReadyCandidate[] => {
      const attempt = ReadyQueues.decode(item.member);
      if (attempt) return [{ member: item.member, attempt, score: item.score }];
      const range = ReadyQueues.decodeRange(item.member);
      return range ? [{ member: item.member, range, score: item.score }] : [];
    });
  }

  /** Takes one attempt; true for exactly one caller across all controllers. */
  async claim(profile: ResourceRequirements['profile'], member: string): Promise<boolean> {
    return (await this.store.queueRemove(ReadyQueues.queueName(profile), [member])) === 1;
  }

  /** Takes several attempts of one class in one store step; returns the members this caller won. */
  async claimMany(profile: ResourceRequirements['profile'], members: readonly string[]): Promise<Set<string>> {
    return new Set(await this.store.queueClaim(ReadyQueues.queueName(profile), members));
  }

  async size(profile: ResourceRequirements['profile']): Promise<number> {
    return this.store.queueSize(ReadyQueues.queueName(profile));
  }
}

function scoreOf(priority: string, at: number): number {
  const band = PRIORITY_BAND[priority as keyof typeof PRIORITY_BAND] ?? PRIORITY_BAND.normal;
  return band * BAND_WIDTH + at;
}

function decodeRequirements([cpu, memoryMb, storageGb, gpuCount, gpuMemoryMb, profile]: string[]): ResourceRequirements | undefined {
  if (profile !== 'cpu' && profile !== 'gpu') return undefined;
  return { cpu: Number(cpu), memoryMb: Number(memoryMb), storageGb: Number(storageGb), gpuCount: Number(gpuCount), gpuMemoryMb: Number(gpuMemoryMb), profile };
}

/** The queue and member of a job's range. */
function jobRange(jobId: string, taskCount: number, requirements: JsonValue): { queue: string; member: string } {
  const range = { jobId, taskCount, requirements: normaliseRequirements(requirements) };
  return { queue: ReadyQueues.queueName(range.requirements.profile), member: ReadyQueues.encodeRange(range) };
}
