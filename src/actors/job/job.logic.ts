import type { TaskOutcome } from '../task/task.events.js';
import type { JobInput, JobTerminalStatus } from './job.events.js';

/** Queue timeout: 2 × timeout_s, at least 30 minutes (reference: Job Lifecycle). */
export const MIN_QUEUE_TIMEOUT_MS = 30 * 60_000;
/** When the queue timer fires during a fleet-wide outage, look again this much later. */
export const QUEUE_TIMEOUT_RECHECK_MS = 5 * 60_000;
/** Stuck-job recovery period while running (reference: "every 5 minutes"). */
export const RECOVERY_INTERVAL_MS = 5 * 60_000;
/** Below this `result_quality` a succeeded task is a suspect. */
export const LOW_QUALITY_THRESHOLD = 0.5;
/** `summary.quality.suspect_task_ids` keeps at most this many ids. */
export const MAX_SUSPECT_IDS = 100;

/**
 * One character per task index: `.` not finished, `s` succeeded, `f` failed,
 * `c` cancelled, `t` timed out. Compact enough for 10k-task jobs (10 KB), plain
 * JSON, and it makes `job.task_finished` idempotent per task — a re-sent report
 * (recovery, redelivery under a new event id) never counts twice.
 */
export const OUTCOME_CHAR: Record<TaskOutcome, string> = { succeeded: 's', failed: 'f', cancelled: 'c', timed_out: 't' };
export const UNFINISHED = '.';

export type HoldStatus = 'none' | 'requested' | 'placed' | 'rejected' | 'settled' | 'released';

export type TaskCounts = { succeeded: number; failed: number; cancelled: number; timedOut: number };

/** Plain JSON (the runtime persists it as is): nulls, never `undefined`. */
export type JobContext = JobInput & {
  /** Known once planned; tasks are `<jobId>.t0 … t<taskCount-1>`. */
  taskCount: number | null;
  taskOutcomes: string;
  counts: TaskCounts;
  anyTaskStarted: boolean;
  lowQualityCount: number;
  qualitySum: number;
  qualityCount: number;
  suspectTaskIds: string[];
  /** Runtime of every attempt of every finished task: what the hold settles to. */
  runtimeMs: number;
  /** Dependencies not yet completed. */
  pendingDependencies: string[];
  /** Jobs waiting on this one; answered when it ends (or at once if it has). */
  dependents: string[];
  holdStatus: HoldStatus;
  chargedMicros: number | null;
  firstTaskError: { taskId: string; error: string } | null;
  status: JobTerminalStatus | null;
  error: string | null;
  recommendedAction: string | null;
  cancelReason: string | null;
  queuedAt: number | null;
  queueDeadlineAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
};

export function initialJobContext(input: JobInput): JobContext {
  return {
    ...input,
    taskCount: null,
    taskOutcomes: '',
    counts: { succeeded: 0, failed: 0, cancelled: 0, timedOut: 0 },
    anyTaskStarted: false,
    lowQualityCount: 0,
    qualitySum: 0,
    qualityCount: 0,
    suspectTaskIds: [],
    runtimeMs: 0,
    pendingDependencies: [...new Set(input.dependsOn)].filter((id) => id !== input.jobId),
    dependents: [],
    holdStatus: input.billing ? 'requested' : 'none',
    chargedMicros: null,
    firstTaskError: null,
    status: null,
    error: null,
    recommendedAction: null,
    cancelReason: null,
    queuedAt: null,
    queueDeadlineAt: null,
    startedAt: null,
    finishedAt: null,
  };
}

export function finishedCount(counts: TaskCounts): number {
  return counts.succeeded + counts.failed + counts.cancelled + counts.timedOut;
}

/** Tasks that ended without a result. */
export function missingCount(counts: TaskCounts): number {
  return counts.failed + counts.cancelled + counts.timedOut;
}

/** True when `index` has not reported an outcome yet (and is a task of this job). */
export function isUnreportedTask(context: JobContext, index: number): boolean {
  return isUnreportedIndex(context.taskCount, context.taskOutcomes, index);
}

/** `isUnreportedTask` on its parts (`job.tasks.ts` folds a batch against the outcomes before it). */
export function isUnreportedIndex(taskCount: number | null, outcomes: string, index: number): boolean {
  if (!Number.isInteger(index) || index < 0) return false;
  if (taskCount !== null && index >= taskCount) return false;
  return (outcomes[index] ?? UNFINISHED) === UNFINISHED;
}

/**
 * The outcome once it is decided, else null. Decided when every task has
 * finished, or — in `strict_complete` — as soon as one task ended without a
 * result (fail fast: the result set is already invalid, so the remaining
 * tasks are cancelled rather than paid for).
 *
 * - all succeeded, none low quality → completed
 * - all succeeded, some low quality → partial (reference: quality < 0.5)
 * - none succeeded → failed
 * - some succeeded: best_effort → partial; strict_complete → failed. A strict
 *   job is "not completed" with a missing task, and `partial` would invite a
 *   client to use a result set the user said must be whole; succeeded tasks'
 *   results stay readable either way.
 */
export function decideOutcome(context: JobContext): Exclude<JobTerminalStatus, 'cancelled'> | null {
  if (context.taskCount === null) return null;
  const { counts } = context;
  if (context.reliabilityMode === 'strict_complete' && missingCount(counts) > 0) return 'failed';
  if (finishedCount(counts) < context.taskCount) return null;
  if (counts.succeeded === context.taskCount) return context.lowQualityCount > 0 ? 'partial' : 'completed';
  if (counts.succeeded === 0) return 'failed';
  return 'partial';
}

/** What the account is charged: runtime × rate, rounded up, never above the hold. */
export function chargeMicros(context: JobContext): number {
  if (!context.billing) return 0;
  const raw = Math.ceil((context.runtimeMs * context.billing.rateMicrosPerSecond) / 1000);
  return Math.min(context.billing.holdMicros, Math.max(0, raw));
}

export function queueTimeoutMs(timeoutS: number): number {
  return Math.max(2 * timeoutS * 1000, MIN_QUEUE_TIMEOUT_MS);
}

/** `error` and `recommended_action` for a job that ended on its tasks' outcomes. */
export function describeTaskOutcome(context: JobContext, status: Exclude<JobTerminalStatus, 'cancelled'>): { error: string | null; recommendedAction: string | null } {
  const total = context.taskCount ?? 0;
  const missing = missingCount(context.counts);
  const first = context.firstTaskError ? ` First error (${context.firstTaskError.taskId}): ${context.firstTaskError.error}` : '';
  const inspect = 'Inspect GET /api/v1/jobs/:id/tasks for each task\'s error, exit_code and output';
  if (status === 'completed') return { error: null, recommendedAction: null };
  if (status === 'partial' && missing === 0) {
    return {
      error: `${context.lowQualityCount} of ${total} tasks have result_quality below ${LOW_QUALITY_THRESHOLD}.`,
      recommendedAction: 'Check summary.quality.suspect_task_ids and result_warnings in GET /api/v1/results/:job_id.',
    };
  }
  if (status === 'partial') {
    return {
      error: `${missing} of ${total} tasks did not succeed.${first}`,
      recommendedAction: `${inspect}; resubmit the missing work, or use reliability_mode "strict_complete" if every task must succeed.`,
    };
  }
  if (context.reliabilityMode === 'strict_complete' && (missing < total || context.counts.succeeded > 0)) {
    // Decided before the cancel goes out: unfinished tasks are the ones it will cancel (maybe none).
    const cancelled = finishedCount(context.counts) < total ? '; the remaining tasks were cancelled' : '';
    return {
      error: `strict_complete: ${missing} of ${total} tasks did not succeed${cancelled}.${first}`,
      recommendedAction: `${inspect}, fix the cause and resubmit the job.`,
    };
  }
  return {
    error: `All ${total} tasks failed.${first}`,
    recommendedAction: `${inspect}, fix the runner and resubmit.`,
  };
}
