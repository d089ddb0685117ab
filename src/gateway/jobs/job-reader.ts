import { jobRef, taskIdOf, taskRef } from '../../actors/shared/ids.js';
import type { ControllerNode } from '../../actors/runtime/index.js';
import { ComputalotError } from '../../shared/errors.js';
import { stringOf, type JsonObject } from '../../shared/json.js';
import type { EventLogRecord, Store } from '../../store/store.js';
import { JobSpecStore } from '../../jobs/job-spec-store.js';
import { deferredTaskView, TaskPlans } from '../../jobs/task-plan.js';

/** Task views read per store round trip. */
const TASK_PAGE = 1000;

/** Fields kept internally that the public API never shows (placement, ownership). */
const INTERNAL_JOB_FIELDS = ['account_id'] as const;

/**
 * Reads jobs and their tasks for one account. A job of another account is
 * reported exactly like a missing one, so ids cannot be probed.
 */
export class JobReader {
  private readonly specs: JobSpecStore;
  private readonly plans: TaskPlans;

  constructor(
    private readonly node: ControllerNode,
    private readonly store: Store,
  ) {
    this.specs = JobSpecStore.for(store);
    this.plans = TaskPlans.for(node, store);
  }

  /** The job's public view, or 404 `job_not_found`. */
  async job(accountId: string, jobId: string): Promise<JsonObject> {
    const [model] = (await this.node.readModels([jobRef(jobId)])) as (JsonObject | null)[];
    if (!model || model.account_id !== accountId) throw new ComputalotError('job_not_found', 404, `job ${jobId} not found`);
    return this.specs.complete(jobId, publicJob(model));
  }

  /** Whether the job exists for the account yet (its submit event may still be in the mailbox). */
  async exists(accountId: string, jobId: string): Promise<boolean> {
    const [model] = (await this.node.readModels([jobRef(jobId)])) as (JsonObject | null)[];
    return model !== null && model !== undefined && model.account_id === accountId;
  }

  /** Task views `offset … offset+limit-1` of a job already known to be the account's. */
  async tasks(job: JsonObject, offset: number, limit: number): Promise<JsonObject[]> {
    const total = taskTotal(job);
    const end = Math.min(total, offset + limit);
    if (offset >= end) return [];
    const indices = Array.from({ length: end - offset }, (_, i) => offset + i);
    return (await this.viewsAt(job, indices)).filter((m): m is JsonObject => m !== null);
  }

  /** Every task view of a job already known to be the account's, read a page at a time. */
  async allTasks(job: JsonObject): Promise<JsonObject[]> {
    const tasks: JsonObject[] = [];
    for (let offset = 0; offset < taskTotal(job); offset += TASK_PAGE) tasks.push(...(await this.tasks(job, offset, TASK_PAGE)));
    return tasks;
  }

  async events(jobId: string): Promise<EventLogRecord[]> {
    const ref = jobRef(jobId);
    return this.store.readEventLog(this.node.router.shardOf(ref), ref, { limit: 10_000 });
  }

  /** Public views of `jobIds` in one batched read; null where a job is missing or another account's. */
  async jobsByIds(accountId: string, jobIds: readonly string[]): Promise<(JsonObject | null)[]> {
    if (jobIds.length === 0) return [];
    const models = (await this.node.readModels(jobIds.map(jobRef))) as (JsonObject | null)[];
    return Promise.all(
      jobIds.map(async (jobId, i): Promise<JsonObject | null> => {
        const model = models[i];
        return model && model.account_id === accountId ? this.specs.complete(jobId, publicJob(model)) : null;
      }),
    );
  }

  /** Task views at `indices` of a job (its view) already known to be the caller's; null where the job has no such task. */
  async tasksAt(job: JsonObject, indices: readonly number[]): Promise<(JsonObject | null)[]> {
    if (indices.length === 0) return [];
    return this.viewsAt(job, indices);
  }

  /**
   * Views of the job's tasks at `indices`: the task's own where it exists,
   * else the view it has until the scheduler creates it (see `task-plan.ts`).
   */
  private async viewsAt(job: JsonObject, indices: readonly number[]): Promise<(JsonObject | null)[]> {
    const jobId = stringOf(job.id);
    const views = (await this.node.readModels(indices.map((index) => taskRef(taskIdOf(jobId, index))))) as (JsonObject | null)[];
    const total = taskTotal(job);
    if (views.every((view, i) => view !== null || (indices[i] as number) >= total)) return views;
    const plan = await this.plans.of(jobId);
    if (plan === null) return views;
    return views.map((view, i) => view ?? deferredTaskView(job, plan, indices[i] as number));
  }

  /** Event log lines after `afterSeq`, oldest first, at most `limit`. */
  async eventsAfter(jobId: string, afterSeq: number, limit: number): Promise<EventLogRecord[]> {
    const ref = jobRef(jobId);
    return this.store.readEventLog(this.node.router.shardOf(ref), ref, { afterSeq, limit });
  }
}

export function taskTotal(job: JsonObject): number {
  const summary = job.summary as JsonObject | undefined;
  const tasks = summary?.tasks as JsonObject | undefined;
  return typeof tasks?.total === 'number' ? tasks.total : 0;
}

function publicJob(model: JsonObject): JsonObject {
  const view = { ...model };
  for (const field of INTERNAL_JOB_FIELDS) delete view[field];
  return view;
}
