import type { JsonValue } from '../../shared/json.js';
import type { ResourceRequirements } from '../shared/resources.js';

/**
 * Events a task accepts, and the creation input. Every event carries `at`
 * (epoch ms): the machine never reads a clock. Events that name an
 * `attemptId` are accepted only for the attempt the task currently expects;
 * anything from an older attempt is ignored, so a task has exactly one result.
 */

export type TaskPriority = 'high' | 'normal' | 'low';

/** Why an attempt ended without a result (the public `failure_kind`). */
export type FailureKind =
  | 'exit_code' // the runner exited non-zero
  | 'result_invalid' // exit 0 but no readable JSON result
  | 'preflight' // the platform failed before the user command started
  | 'runner_error' // the agent could not run the command (spawn error, sandbox failure)
  | 'timeout' // ran past timeout_s (+ grace)
  | 'start_timeout' // dispatched but never reported started
  | 'worker_lost'; // the worker stopped heartbeating mid-attempt

/** The normalised creation input (built by `task.kind.ts` from `task.create`). */
export type TaskInput = {
  taskId: string;
  jobId: string;
  index: number;
  payload: JsonValue;
  requirements: ResourceRequirements;
  /** Per-attempt run limit, seconds. */
  timeoutS: number;
  /** Slack past `timeoutS` for the agent's SIGTERM → SIGKILL and its report, seconds. */
  graceS: number;
  /** How long a dispatched attempt may take to report `started` (includes runtime preparation), seconds. */
  startTimeoutS: number;
  /** Retries after the first attempt; total attempts = maxRetries + 1. */
  maxRetries: number;
  priority: TaskPriority;
  /** Created behind unmet job dependencies: not enqueued until `task.release`. */
  blocked: boolean;
  /**
   * Dispatched as it is created: the scheduler created the task in the commit
   * that places its first attempt on this worker at `at` (one machine step
   * instead of `task.create` then `task.dispatched`). Null once dispatched.
   */
  dispatchOnCreate: { workerId: string; at: number } | null;
  createdAt: number;
};

/** Creates a task (sent by the planner). Fields other than `jobId`/`index` have defaults. */
export type TaskCreateEvent = {
  type: 'task.create';
  at: number;
  jobId: string;
  index: number;
  payload: JsonValue;
  requirements?: JsonValue;
  timeoutS?: number;
  graceS?: number;
  startTimeoutS?: number;
  maxRetries?: number;
  priority?: TaskPriority;
  blocked?: boolean;
  /** Taken from the job's range by the scheduler: the first attempt goes to this worker now (the event's `at`). */
  dispatchTo?: string;
  /** Epoch ms the task counts as created (its job's submission); defaults to `at`. */
  createdAt?: number;
};

/** The job's dependencies are met: a blocked task may be enqueued. */
export type TaskReleaseEvent = { type: 'task.release'; at: number };

/** The scheduler placed the expected attempt on `workerId`. */
export type TaskDispatchedEvent = { type: 'task.dispatched'; at: number; attemptId: string; workerId: string };

/** The agent started the runner for this attempt. */
export type TaskStartedEvent = { type: 'task.started'; at: number; attemptId: string };

/** A `COMPUTALOT_PROGRESS:` line (and the live output tail, when sent). */
export type TaskProgressEvent = {
  type: 'task.progress';
  at: number;
  attemptId: string;
  progress: JsonValue;
  outputTail?: string | null;
};

export type TaskSucceededEvent = {
  type: 'task.succeeded';
  at: number;
  attemptId: string;
  result: JsonValue;
  exitCode?: number;
  /** 0.0–1.0; below 0.5 counts as low quality for the job. */
  resultQuality?: number | null;
  resultWarnings?: string[];
  outputTail?: string | null;
  /**
   * When the attempt started, for a result whose start report the scheduler
   * folded into it (a start it still held when the result came, see
   * `StartFolding`); absent when `task.started` was sent on its own.
   */
  startedAt?: number;
};

export type TaskFailedEvent = {
  type: 'task.failed';
  at: number;
  attemptId: string;
  exitCode: number | null;
  /** The output tail (~1000 chars are kept). */
  error: string;
  failureKind: FailureKind;
  /** `false` for failures a retry cannot fix (e.g. an invalid payload); default true. */
  retryable?: boolean;
  outputTail?: string | null;
  /**
   * When the attempt started, for a result whose start report the scheduler
   * folded into it (a start it still held when the result came, see
   * `StartFolding`); absent when `task.started` was sent on its own.
   */
  startedAt?: number;
};

/** The durable attempt timer fired (start deadline while dispatched, run deadline while running). */
export type TaskTimeoutEvent = { type: 'task.timeout'; at: number; attemptId: string };

/** The worker running the current attempt was declared lost. */
export type TaskWorkerLostEvent = { type: 'task.worker_lost'; at: number; workerId: string; attemptId?: string };

/** The retry backoff timer fired; the attempt id names the attempt it is for. */
export type TaskRetryDueEvent = { type: 'task.retry_due'; at: number; attemptId: string };

/** The requeue timer of a task waiting in `ready` fired: enqueue the attempt again. */
export type TaskRequeueDueEvent = { type: 'task.requeue_due'; at: number; attemptId: string };

export type TaskCancelEvent = { type: 'task.cancel'; at: number; reason: string };

export type TaskEvent =
  | TaskReleaseEvent
  | TaskDispatchedEvent
  | TaskStartedEvent
  | TaskProgressEvent
  | TaskSucceededEvent
  | TaskFailedEvent
  | TaskTimeoutEvent
  | TaskWorkerLostEvent
  | TaskRetryDueEvent
  | TaskRequeueDueEvent
  | TaskCancelEvent;

/** Terminal task outcomes, as sent to the job in `job.task_finished`. */
export type TaskOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

/** Effect kinds the task declares (`effect` action), for the handlers' sake. */
export const TASK_EFFECT = {
  /** Put the expected attempt into the ready queue. */
  enqueue: 'task.enqueue',
  /** Drop it from the ready queue (cancelled while waiting). */
  dequeue: 'task.dequeue',
  /** Hand the attempt to the agent holding `workerId`. */
  dispatch: 'task.dispatch',
  /** Stop the attempt on its worker (cancel, controller-side timeout). */
  kill: 'task.kill',
} as const;
