import { jobRef, taskIdOf, taskRef } from '../actors/shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { JsonObject } from '../shared/json.js';
import type { EntityRef, Store } from '../store/store.js';
import type { JobIndex } from './job-index.js';
import { ReadyQueues } from '../scheduler/ready-queue.js';
import { JobSpecStore } from './job-spec-store.js';
import type { JobTerminalListener } from './job-terminal.js';

/**
 * Retention of terminal jobs (the reference: "queryable for 30 days").
 *
 * When a job ends, `retentionListener` files it in one cluster-wide queue
 * scored by its end time. A sweeper (one at a time across controllers, by
 * lease) takes the jobs whose end lies more than the retention period back
 * and deletes them for good: the job, every task, their read models and event
 * logs, and the job's entries in its account's lists. Each step is
 * idempotent, and the queue entry goes last, so a sweep cut short by a crash
 * is finished by the next one.
 */
export const RETENTION_QUEUE = 'jobs:retention';
const SWEEPER_LEASE = 'jobs-retention-sweeper';
/** Jobs examined per queue read. */
const SWEEP_BATCH = 100;
/** Entities deleted per store call. */
const PURGE_CHUNK = 1000;

interface RetainedJob {
  readonly accountId: string;
  readonly jobId: string;
  readonly project: string | null;
  readonly tags: readonly string[];
}

export function retentionListener(store: Store): JobTerminalListener {
  return async (notice) => {
    const entry: RetainedJob = { accountId: notice.accountId, jobId: notice.jobId, project: notice.project, tags: [...notice.tags] };
    await store.queuePush(RETENTION_QUEUE, [{ member: JSON.stringify(entry), score: notice.completedAt }]);
  };
}

export interface RetentionSweeperOptions {
  readonly store: Store;
  readonly index: JobIndex;
  /** The runtime's routing: a job and its tasks live on the job's shard. */
  readonly shardOf: (ref: EntityRef) => number;
  readonly retentionMs: number;
  readonly intervalMs: number;
  /** This controller's id: the sweeper lease's owner. */
  readonly owner: string;
  readonly logger: Logger;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RetentionSweeperOptions) {}

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.running = this.sweep().catch((error: unknown) => this.options.logger.warn({ err: error }, 'retention sweep failed; retrying next interval'));
    };
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes every job past retention; returns how many. Skips the round when another controller sweeps. */
  async sweep(): Promise<number> {
    const { store, owner, intervalMs } = this.options;
    const lease = await store.acquireLease(SWEEPER_LEASE, owner, Math.max(intervalMs * 2, 60_000));
    if (lease === null) return 0;
    let purged = 0;
    try {
      const cutoff = (await store.now()) - this.options.retentionMs;
      for (;;) {
        const due = (await store.queuePeek(RETENTION_QUEUE, SWEEP_BATCH)).filter((item) => item.score <= cutoff);
        for (const item of due) {
          await this.purge(JSON.parse(item.member) as RetainedJob);
          await store.queueRemove(RETENTION_QUEUE, [item.member]);
          purged += 1;
        }
        if (due.length < SWEEP_BATCH) break;
      }
    } finally {
      await store.releaseLease(SWEEPER_LEASE, owner, lease.token).catch(() => false);
    }
    if (purged > 0) this.options.logger.info({ purged }, 'deleted jobs past retention');
    return purged;
  }

  private async purge(job: RetainedJob): Promise<void> {
    const { store, shardOf } = this.options;
    const ref = jobRef(job.jobId);
    const shard = shardOf(ref);
    const [model] = (await store.readReadModels([{ shard, ref }])) as (JsonObject | null)[];
    const taskCount = taskTotalOf(model ?? null);
    // Index first: once the entities are gone the job must not be listed, even for a moment.
    await this.options.index.remove(job);
    for (let start = 0; start < taskCount; start += PURGE_CHUNK) {
      const refs = Array.from({ length: Math.min(PURGE_CHUNK, taskCount - start) }, (_, i) => taskRef(taskIdOf(job.jobId, start + i)));
      await store.purgeEntities(shard, refs);
    }
    await store.purgeEntities(shard, [ref]);
    if (model && taskCount > 0) await new ReadyQueues(store).forgetJob(job.jobId, taskCount, model.requirements ?? null);
    await JobSpecStore.for(store).delete(job.jobId);
  }
}

function taskTotalOf(model: JsonObject | null): number {
  const tasks = (model?.summary as JsonObject | undefined)?.tasks as JsonObject | undefined;
  return typeof tasks?.total === 'number' ? tasks.total : 0;
}
