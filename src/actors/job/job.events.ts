import type { JsonObject } from '../../shared/json.js';
import type { TaskOutcome } from '../task/task.events.js';

/**
 * Events a job accepts, and its creation input. Every event carries `at`
 * (epoch ms). Senders: the gateway (`job.submit`, `job.cancel`), the planner
 * (`job.planned`, `job.planning_failed`), the account (`job.hold_*`), its
 * tasks (`job.task_*`), other jobs (dependency events) and its own timers
 * (`job.queue_timeout`, `job.recover`).
 */

export type ReliabilityMode = 'best_effort' | 'strict_complete';
export type JobPriority = 'high' | 'normal' | 'low';

/** The submit-time estimate that becomes the account hold, in micro-dollars. */
export type JobBilling = {
  holdId: string;
  holdMicros: number;
  /** Price of one second of task runtime (all attempts count), micro-dollars. */
  rateMicrosPerSecond: number;
};

/** The normalised creation input (built by `job.kind.ts` from `job.submit`). */
export type JobInput = {
  jobId: string;
  accountId: string;
  jobType: string;
  project: string | null;
  /** The validated public submission, echoed in the read model (payload, meta, variant, …). */
  spec: JsonObject;
  priority: JobPriority;
  reliabilityMode: ReliabilityMode;
  tags: string[];
  dependsOn: string[];
  /** Per-task timeout, seconds; also sizes the queue timeout. */
  timeoutS: number;
  clientRef: string | null;
  callbackUrl: string | null;
  /** `null`: not billed (dev installs, admin jobs). */
  billing: JobBilling | null;
  createdAt: number;
};

export type JobSubmitEvent = {
  type: 'job.submit';
  at: number;
  accountId: string;
  jobType?: string;
  project?: string | null;
  spec?: JsonObject;
  priority?: JobPriority;
  reliabilityMode?: ReliabilityMode;
  tags?: string[];
  dependsOn?: string[];
  timeoutS?: number;
  clientRef?: string | null;
  callbackUrl?: string | null;
  billing?: JobBilling | null;
};

/** The account reserved the estimate. */
export type JobHoldPlacedEvent = { type: 'job.hold_placed'; at: number; holdId: string };
/** The account could not cover the estimate: the job fails before any task exists. */
export type JobHoldRejectedEvent = {
  type: 'job.hold_rejected';
  at: number;
  holdId: string;
  reason: string;
  availableMicros?: number;
  requiredMicros?: number;
};

/** The planner created `taskCount` tasks (`<jobId>.t0` … `t<taskCount-1>`). */
export type JobPlannedEvent = { type: 'job.planned'; at: number; taskCount: number };
export type JobPlanningFailedEvent = { type: 'job.planning_failed'; at: number; error: string };

/** Another job that depends on this one asks to hear how this one ends. */
export type JobDependentRegisteredEvent = { type: 'job.dependent_registered'; at: number; jobId: string };
export type JobDependencyCompletedEvent = { type: 'job.dependency_completed'; at: number; jobId: string };
/** A dependency ended in anything but `completed`. */
export type JobDependencyFailedEvent = { type: 'job.dependency_failed'; at: number; jobId: string; status: string };

export type JobTaskStartedEvent = { type: 'job.task_started'; at: number; taskId: string; attemptId: string };
export type JobTaskFinishedEvent = {
  type: 'job.task_finished';
  at: number;
  taskId: string;
  index: number;
  outcome: TaskOutcome;
  attempts: number;
  runtimeMs: number;
  /** The task's first start; null when it never ran (e.g. cancelled while queued). */
  startedAt?: number | null;
  resultQuality: number | null;
  error: string | null;
};

/**
 * Consecutive `job.task_finished` reports in one mailbox batch, folded by the
 * runtime into one machine step (`jobKind.batchedEvents`); never sent as such.
 */
export type JobTasksFinishedEvent = { type: 'job.tasks_finished'; at: number; reports: JobTaskFinishedEvent[] };

/** `onlyIfNotStarted` (project cancel-queued): a job already running ignores it. */
export type JobCancelEvent = { type: 'job.cancel'; at: number; reason: string; onlyIfNotStarted?: boolean };

/**
 * The queue timer fired (`liveCapacity` absent), or the capacity check answered
 * (`liveCapacity` true/false). Only live capacity turns a long wait into a cancel.
 */
export type JobQueueTimeoutEvent = { type: 'job.queue_timeout'; at: number; liveCapacity?: boolean | null };

/** The periodic stuck-job check while running. */
export type JobRecoverEvent = { type: 'job.recover'; at: number };

export type JobEvent =
  | JobHoldPlacedEvent
  | JobHoldRejectedEvent
  | JobPlannedEvent
  | JobPlanningFailedEvent
  | JobDependentRegisteredEvent
  | JobDependencyCompletedEvent
  | JobDependencyFailedEvent
  | JobTaskStartedEvent
  | JobTaskFinishedEvent
  | JobTasksFinishedEvent
  | JobCancelEvent
  | JobQueueTimeoutEvent
  | JobRecoverEvent;

/** Public job statuses; the last four are terminal. */
export const JOB_TERMINAL_STATUSES = ['completed', 'partial', 'failed', 'cancelled'] as const;
export const JOB_STATUSES = ['planning', 'queued', 'running', ...JOB_TERMINAL_STATUSES] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobTerminalStatus = (typeof JOB_TERMINAL_STATUSES)[number];

/** Effect kinds the job declares (`effect` action). */
export const JOB_EFFECT = {
  /** Plan the tasks, queue them as one range (unless `blocked`), then answer `job.planned`. */
  plan: 'job.plan',
  /** Queue the job's range of tasks (dependencies met). */
  releaseTasks: 'job.release_tasks',
  /** Close the job's range; `task.cancel` to the tasks handed out that have not ended. */
  cancelTasks: 'job.cancel_tasks',
  /** Answer `job.queue_timeout {liveCapacity}` after looking at the fleet. */
  checkCapacity: 'job.check_capacity',
  /** Look for lost task reports and stuck tasks; re-send what went missing. */
  reconcileTasks: 'job.reconcile_tasks',
  /** Webhook + SSE terminal frame. */
  terminal: 'job.terminal',
} as const;
