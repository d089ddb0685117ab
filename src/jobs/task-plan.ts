import { JOB_TERMINAL_STATUSES } from '../actors/job/job.events.js';
import { jobRef, taskIdOf } from '../actors/shared/ids.js';
import { taskInputFromCreateEvent, taskReadModel } from '../actors/task/task.kind.js';
import { expandTaskContext } from '../actors/task/task.storage.js';
import { planTasks } from '../scheduler/plan-tasks.js';
import { BoundedCache } from '../shared/bounded-cache.js';
import { stringOf, type JsonObject, type JsonValue } from '../shared/json.js';
import type { EntityRef, Store } from '../store/store.js';
import { JobSpecStore } from './job-spec-store.js';

/**
 * # A job's tasks before they exist
 *
 * Planning does not create a job's task actors. A task's input is a pure
 * function of the job's submission (stored before the job is accepted, see
 * `JobSpecStore`) and its index, so planning checks the submission, counts
 * the tasks and queues the job as one ready-queue range (`ReadyQueues`).
 * The scheduler creates each task actor in the commit that dispatches it;
 * until then `GET /jobs/:id/tasks` shows the task as the view it would have
 * (`deferredTaskView`). A 10,000-task job is one commit to plan instead of
 * forty, and each task is written once less.
 */

/** What every task of a job is created with besides its index and payload. */
export interface TaskTemplate {
  readonly jobId: string;
  readonly requirements: JsonValue;
  readonly timeoutS: number;
  readonly maxRetries: number;
  readonly priority: string;
  /** When the job was submitted: every task of it counts as created then. */
  readonly createdAt: number;
}

/** A job's planned tasks: `payloads[i]` is task i's. */
export interface JobTaskPlan {
  readonly template: TaskTemplate;
  readonly payloads: readonly JsonValue[];
}

/** How a task starts: waiting in the queue, behind dependencies, or taken by the scheduler and dispatched to a worker in the same step. */
export type TaskStart = 'ready' | 'blocked' | { readonly dispatchTo: string };

/** The `task.create` event of task `index`. */
export function taskCreateEvent(template: TaskTemplate, index: number, payload: JsonValue, start: TaskStart): JsonObject & { type: 'task.create' } {
  return {
    type: 'task.create',
    jobId: template.jobId,
    index,
    payload,
    requirements: template.requirements,
    timeoutS: template.timeoutS,
    maxRetries: template.maxRetries,
    priority: template.priority,
    createdAt: template.createdAt,
    blocked: start === 'blocked',
    ...(typeof start === 'object' ? { dispatchTo: start.dispatchTo } : {}),
  };
}

/** The template from the job's submission fields (as the job machine's `job.plan` effect carries them). */
export function taskTemplate(jobId: string, spec: JsonObject, timeoutS: number, priority: string, createdAt: number): TaskTemplate {
  return {
    jobId,
    requirements: spec.requirements ?? null,
    timeoutS,
    maxRetries: typeof spec.max_retries === 'number' ? spec.max_retries : 0,
    priority,
    createdAt,
  };
}

/**
 * The view task `index` has while its job has not created it: pending
 * (queued, or waiting for the job's dependencies), or cancelled when the job
 * ended before reaching it. Built by the task kind's own code from the
 * `task.create` event it would get, so it cannot drift from a real task's.
 */
export function deferredTaskView(job: JsonObject, plan: JobTaskPlan, index: number): JsonObject | null {
  const payload = plan.payloads[index];
  if (payload === undefined) return null;
  const taskId = taskIdOf(plan.template.jobId, index);
  const input = taskInputFromCreateEvent(taskId, { ...taskCreateEvent(plan.template, index, payload, 'ready'), at: plan.template.createdAt });
  if (input === undefined) return null;
  const status = stringOf(job.status);
  const ended = (JOB_TERMINAL_STATUSES as readonly string[]).includes(status);
  const waiting = Array.isArray(job.waiting_for) && job.waiting_for.length > 0;
  const context = expandTaskContext({ ...input, cancelReason: ended ? stringOf(job.cancel_reason, `job ${status}`) : null });
  const state = ended
    ? { value: 'cancelled', status: 'done' as const }
    : { value: { pending: waiting ? 'blocked' : 'ready' }, status: 'active' as const };
  return taskReadModel({ ...state, context }, taskId) as JsonObject;
}

/** Jobs whose plans are kept in memory per process. */
const CACHE_SIZE = 64;

/** Where job views are read (a controller node). */
export interface JobViewSource {
  readModels(refs: readonly EntityRef[]): Promise<(JsonValue | null)[]>;
}

const instances = new WeakMap<JobViewSource, TaskPlans>();

/**
 * Plans of jobs, worked out again from the stored submission when needed
 * (the scheduler creating tasks, a reader showing tasks not created yet) and
 * kept for the most recent jobs; concurrent lookups of one job share a load.
 */
export class TaskPlans {
  private readonly plans = new BoundedCache<JobTaskPlan>(CACHE_SIZE);
  private readonly loading = new Map<string, Promise<JobTaskPlan | null>>();
  private readonly specs: JobSpecStore;

  private constructor(
    private readonly source: JobViewSource,
    store: Store,
  ) {
    this.specs = JobSpecStore.for(store);
  }

  /** One instance (and cache) per controller node in this process: the planner, scheduler and readers share it. */
  static for(node: JobViewSource, store: Store): TaskPlans {
    let plans = instances.get(node);
    if (plans === undefined) instances.set(node, (plans = new TaskPlans(node, store)));
    return plans;
  }

  /** Keeps a plan just made (by the planner) so the job's first dispatches need no reload. */
  remember(plan: JobTaskPlan): void {
    this.plans.set(plan.template.jobId, plan);
  }

  /** The job's plan; null when the job is gone or its submission no longer plans. */
  of(jobId: string): Promise<JobTaskPlan | null> {
    const cached = this.plans.get(jobId);
    if (cached !== undefined) return Promise.resolve(cached);
    let load = this.loading.get(jobId);
    if (load === undefined) {
      load = this.load(jobId).finally(() => this.loading.delete(jobId));
      this.loading.set(jobId, load);
    }
    return load;
  }

  private async load(jobId: string): Promise<JobTaskPlan | null> {
    const [view] = (await this.source.readModels([jobRef(jobId)])) as (JsonObject | null)[];
    if (!view) return null;
    // The view is the submission with the platform's fields over it; planners read only submission fields.
    const submission = await this.specs.complete(jobId, view);
    const outcome = planTasks(stringOf(view.type, 'structured_runner'), submission);
    if (!outcome.ok) return null;
    const createdAt = Date.parse(stringOf(view.created_at));
    const template = taskTemplate(jobId, submission, Number(view.timeout_s), stringOf(view.priority, 'normal'), Number.isFinite(createdAt) ? createdAt : 0);
    const plan = { template, payloads: outcome.payloads };
    this.plans.set(jobId, plan);
    return plan;
  }
}
