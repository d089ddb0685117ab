import { normaliseRequirements, type ResourceRequirements } from '../actors/shared/resources.js';
import type { JsonValue } from '../shared/json.js';
import type { QueueItem, Store } from '../store/store.js';

/** One attempt waiting for a worker, as the ready queue holds it. */
export interface ReadyAttempt {
  readonly attemptId: string;
  readonly taskId: string;
  readonly requirements: ResourceRequirements;
}

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

  constructor(private readonly store: Store) {}

  static queueName(profile: ResourceRequirements['profile']): string {
    return `ready:${profile}`;
  }

  static encode(attempt: ReadyAttempt): string {
    const r = attempt.requirements;
    return [attempt.attemptId, attempt.taskId, r.cpu, r.memoryMb, r.storageGb, r.gpuCount, r.gpuMemoryMb, r.profile].join('|');
  }

  static decode(member: string): ReadyAttempt | undefined {
    const [attemptId, taskId, cpu, memoryMb, storageGb, gpuCount, gpuMemoryMb, profile] = member.split('|');
    if (!attemptId || !taskId || (profile !== 'cpu' && profile !== 'gpu')) return undefined;
    return {
      attemptId,
      taskId,
      requirements: { cpu: Number(cpu), memoryMb: Number(memoryMb), storageGb: Number(storageGb), gpuCount: Number(gpuCount), gpuMemoryMb: Number(gpuMemoryMb), profile },
    };
  }

  async enqueue(taskId: string, attemptId: string, requirements: JsonValue, priority: string, at: number): Promise<void> {
    const attempt = { taskId, attemptId, requirements: normaliseRequirements(requirements) };
    const band = PRIORITY_BAND[priority as keyof typeof PRIORITY_BAND] ?? PRIORITY_BAND.normal;
    await this.push(ReadyQueues.queueName(attempt.requirements.profile), { member: ReadyQueues.encode(attempt), score: band * BAND_WIDTH + at });
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

  /** The best `count` waiting attempts of a class, without taking them. */
  async peek(profile: ResourceRequirements['profile'], count: number): Promise<{ member: string; attempt: ReadyAttempt; score: number }[]> {
    const items = await this.store.queuePeek(ReadyQueues.queueName(profile), count);
    return items.flatMap((item) => {
      const attempt = ReadyQueues.decode(item.member);
      return attempt ? [{ member: item.member, attempt, score: item.score }] : [];
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
