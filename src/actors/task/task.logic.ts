import type { JsonValue } from '../../shared/json.js';
import { attemptIdOf } from '../shared/ids.js';
import { tail } from '../shared/json-fields.js';
import { expandTaskContext } from './task.storage.js';
import type { FailureKind, TaskFailedEvent, TaskInput, TaskOutcome, TaskSucceededEvent } from './task.events.js';

/** Characters of error output kept per attempt: the tail, where tracebacks are. */
export const ERROR_TAIL_CHARS = 1000;
/** Characters of live output kept on the task (the runner protocol's 10 KB ring). */
export const OUTPUT_TAIL_CHARS = 10_240;
/** Retry backoff: 2^attempt seconds, capped. */
export const RETRY_BACKOFF_CAP_MS = 60_000;
/**
 * How often a task waiting in `ready` puts its attempt in the ready queue
 * again. Claiming an attempt takes it out of the queue before the task hears
 * `task.dispatched`; a controller that dies in between would otherwise leave
 * the task waiting for good. Pushing a queued attempt again changes nothing.
 */
export const REQUEUE_CHECK_MS = 5 * 60_000;
/** Below this `result_quality` a result counts as low quality for the job. */
export const LOW_QUALITY_THRESHOLD = 0.5;

export type AttemptOutcome = 'active' | 'succeeded' | 'failed' | 'timed_out' | 'worker_lost' | 'cancelled';

/** One attempt, kept after it ends so retries never hide earlier diagnostics. */
export type AttemptRecord = {
  attemptId: string;
  attempt: number;
  workerId: string;
  dispatchedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  outcome: AttemptOutcome;
  exitCode: number | null;
  failureKind: FailureKind | null;
  errorTail: string | null;
};

/**
 * Plain JSON (the runtime persists it as is): nulls, never `undefined`. The
 * creation input, unchanged, plus what the task learns while it runs.
 */
export type TaskContext = TaskInput & {
  /** 1-based number of the attempt the task expects next or is running. */
  attempt: number;
  /** `<taskId>.a<attempt>`: the only attempt id whose events are accepted. */
  attemptId: string;
  /** Worker of the current attempt while dispatched/running. */
  workerId: string | null;
  attempts: AttemptRecord[];
  latestProgress: JsonValue | null;
  result: JsonValue | null;
  resultQuality: number | null;
  resultWarnings: string[];
  outputTail: string | null;
  /** The latest failure's error tail; kept while a retry waits or runs. */
  error: string | null;
  failureKind: FailureKind | null;
  exitCode: number | null;
  cancelReason: string | null;
  /** Set on entering a terminal state. */
  outcome: TaskOutcome | null;
  retryDueAt: number | null;
  firstStartedAt: number | null;
  finishedAt: number | null;
  /** Sum of started→ended over all attempts: what the job bills. */
  runtimeMs: number;
};

export function initialTaskContext(input: TaskInput): TaskContext {
  // What the task learns while it runs starts at the defaults its stored form
  // leaves out; the first attempt id derives from the task id.
  return expandTaskContext(input);
}

/** Backoff before attempt `failedAttempt + 1`: 2 s, 4 s, 8 s, … capped at 60 s. */
export function retryBackoffMs(failedAttempt: number): number {
  return Math.min(2 ** failedAttempt * 1000, RETRY_BACKOFF_CAP_MS);
}

export function hasRetriesLeft(context: TaskContext): boolean {
  return context.attempt <= context.maxRetries;
}

/** A new attempt record for a dispatch. */
export function openAttempt(context: TaskContext, workerId: string, at: number): AttemptRecord[] {
  return [
    ...context.attempts,
    {
      attemptId: context.attemptId,
      attempt: context.attempt,
      workerId,
      dispatchedAt: at,
      startedAt: null,
      endedAt: null,
      outcome: 'active',
      exitCode: null,
      failureKind: null,
      errorTail: null,
    },
  ];
}

/** Applies `change` to the current attempt's record (the last one). */
export function updateCurrentAttempt(context: TaskContext, change: Partial<AttemptRecord>): AttemptRecord[] {
  return context.attempts.map((record) => (record.attemptId === context.attemptId ? { ...record, ...change } : record));
}

/** Ends the current attempt: its record, plus the runtime it adds to the task's total. */
export function closeAttempt(
  context: TaskContext,
  at: number,
  outcome: Exclude<AttemptOutcome, 'active'>,
  failure: { exitCode: number | null; failureKind: FailureKind | null; error: string | null },
): Pick<TaskContext, 'attempts' | 'runtimeMs'> {
  const current = context.attempts.find((record) => record.attemptId === context.attemptId);
  const startedAt = current?.startedAt ?? null;
  const ranMs = startedAt !== null ? Math.max(0, at - startedAt) : 0;
  return {
    attempts: updateCurrentAttempt(context, {
      endedAt: at,
      outcome,
      exitCode: failure.exitCode,
      failureKind: failure.failureKind,
      errorTail: tail(failure.error, ERROR_TAIL_CHARS),
    }),
    runtimeMs: context.runtimeMs + ranMs,
  };
}

/** Moves to the next attempt after a retryable failure; the old attempt id goes stale. */
export function nextAttempt(context: TaskContext, at: number): Pick<TaskContext, 'attempt' | 'attemptId' | 'workerId' | 'retryDueAt'> {
  const attempt = context.attempt + 1;
  return {
    attempt,
    attemptId: attemptIdOf(context.taskId, attempt),
    workerId: null,
    retryDueAt: at + retryBackoffMs(context.attempt),
  };
}

/**
 * A result that carries its attempt's start (`startedAt`, folded in by the
 * scheduler) first records that start, as `task.started` would have.
 */
function withFoldedStart(context: TaskContext, startedAt: number | undefined): TaskContext {
  if (startedAt === undefined) return context;
  const current = context.attempts.find((record) => record.attemptId === context.attemptId);
  if (current === undefined || current.startedAt !== null) return context;
  return { ...context, attempts: updateCurrentAttempt(context, { startedAt }), firstStartedAt: context.firstStartedAt ?? startedAt };
}

/** The current attempt produced a result: keep it and clear earlier diagnostics. */
export function applySuccess(original: TaskContext, event: TaskSucceededEvent): Partial<TaskContext> {
  const context = withFoldedStart(original, event.startedAt);
  const exitCode = event.exitCode ?? 0;
  return {
    firstStartedAt: context.firstStartedAt,
    ...closeAttempt(context, event.at, 'succeeded', { exitCode, failureKind: null, error: null }),
    result: event.result,
    resultQuality: event.resultQuality ?? null,
    resultWarnings: event.resultWarnings ?? [],
    outputTail: tail(event.outputTail ?? null, OUTPUT_TAIL_CHARS) ?? context.outputTail,
    error: null,
    failureKind: null,
    exitCode,
  };
}

/** The current attempt failed; its diagnostics stay visible through any retry. */
export function applyFailure(original: TaskContext, event: TaskFailedEvent): Partial<TaskContext> {
  const context = withFoldedStart(original, event.startedAt);
  const error = tail(event.error, ERROR_TAIL_CHARS);
  return {
    firstStartedAt: context.firstStartedAt,
    ...closeAttempt(context, event.at, event.failureKind === 'timeout' ? 'timed_out' : 'failed', { exitCode: event.exitCode, failureKind: event.failureKind, error }),
    error,
    failureKind: event.failureKind,
    exitCode: event.exitCode,
    outputTail: tail(event.outputTail ?? null, OUTPUT_TAIL_CHARS) ?? context.outputTail,
  };
}

/** The attempt ended without a report from the runner (timeout, lost worker). */
export function endWithoutResult(
  context: TaskContext,
  at: number,
  outcome: 'timed_out' | 'worker_lost',
  failureKind: FailureKind,
  error: string,
): Partial<TaskContext> {
  return {
    ...closeAttempt(context, at, outcome, { exitCode: null, failureKind, error }),
    error,
    failureKind,
    exitCode: null,
  };
}
