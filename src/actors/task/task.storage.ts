import type { JsonObject, JsonValue } from '../../shared/json.js';
import { omitDefaults, type ContextStorage } from '../runtime/context-storage.js';
import { attemptIdOf, parseTaskId, taskIdOf } from '../shared/ids.js';
import { DEFAULT_REQUIREMENTS } from '../shared/resources.js';
import type { AttemptRecord, TaskContext } from './task.logic.js';

/** Defaults for omitted `task.create` fields, in seconds; storage leaves them out too. */
export const TASK_DEFAULTS = {
  timeoutS: 600,
  graceS: 30,
  startTimeoutS: 900,
  maxRetries: 0,
} as const;

const NO_ITEMS: readonly never[] = Object.freeze([]);

/** What most of a task's fields hold for most of its life; stored snapshots leave these out. */
const DEFAULTS = {
  ...TASK_DEFAULTS,
  priority: 'normal',
  blocked: false,
  dispatchOnCreate: null,
  attempt: 1,
  workerId: null,
  attempts: NO_ITEMS,
  latestProgress: null,
  result: null,
  resultQuality: null,
  resultWarnings: NO_ITEMS,
  outputTail: null,
  error: null,
  failureKind: null,
  exitCode: null,
  cancelReason: null,
  outcome: null,
  retryDueAt: null,
  firstStartedAt: null,
  finishedAt: null,
  runtimeMs: 0,
} as const satisfies Partial<Record<keyof TaskContext, unknown>>;

/**
 * The full context from the fields that are not at their default. Every
 * field is listed once, so the result is a fast object (a merge of two
 * spreads costs V8 about 20 µs here) and a field added to `TaskContext`
 * without a line here does not compile. New tasks start from it too.
 */
export function expandTaskContext(c: Partial<TaskContext>): TaskContext {
  const taskId = c.taskId as string;
  // Stored snapshots leave out what the task id says (see `compactTaskContext`).
  const parsed = c.jobId === undefined || c.index === undefined ? parseTaskId(taskId) : undefined;
  return {
    taskId,
    jobId: c.jobId ?? (parsed?.jobId as string),
    index: c.index ?? (parsed?.index as number),
    payload: c.payload ?? null,
    requirements: c.requirements ?? DEFAULT_REQUIREMENTS,
    timeoutS: c.timeoutS ?? DEFAULTS.timeoutS,
    graceS: c.graceS ?? DEFAULTS.graceS,
    startTimeoutS: c.startTimeoutS ?? DEFAULTS.startTimeoutS,
    maxRetries: c.maxRetries ?? DEFAULTS.maxRetries,
    priority: c.priority ?? DEFAULTS.priority,
    blocked: c.blocked ?? DEFAULTS.blocked,
    dispatchOnCreate: c.dispatchOnCreate ?? null,
    createdAt: c.createdAt as number,
    attempt: c.attempt ?? DEFAULTS.attempt,
    attemptId: c.attemptId ?? attemptIdOf(c.taskId as string, c.attempt ?? DEFAULTS.attempt),
    workerId: c.workerId ?? null,
    attempts: c.attempts === undefined ? [] : c.attempts.map((record) => expandAttempt(taskId, record)),
    latestProgress: c.latestProgress ?? null,
    result: c.result ?? null,
    resultQuality: c.resultQuality ?? null,
    resultWarnings: c.resultWarnings ?? [],
    outputTail: c.outputTail ?? null,
    error: c.error ?? null,
    failureKind: c.failureKind ?? null,
    exitCode: c.exitCode ?? null,
    cancelReason: c.cancelReason ?? null,
    outcome: c.outcome ?? null,
    retryDueAt: c.retryDueAt ?? null,
    firstStartedAt: c.firstStartedAt ?? null,
    finishedAt: c.finishedAt ?? null,
    runtimeMs: c.runtimeMs ?? DEFAULTS.runtimeMs,
  };
}

/** An attempt record's fields at their usual values; stored records leave these out. */
const ATTEMPT_DEFAULTS = { startedAt: null, endedAt: null, outcome: 'active', exitCode: null, failureKind: null, errorTail: null } as const;

/**
 * A stored task context: its non-default fields, without what the task id
 * says (`jobId`, `index`, each attempt's id) and without default
 * requirements. A task is written at least twice, and on a busy controller
 * these bytes are most of what it writes (about half of the snapshot).
 * Snapshots stored in full read the same.
 */
export function compactTaskContext(context: TaskContext): JsonObject {
  const derived: string[] = [];
  if (context.taskId === taskIdOf(context.jobId, context.index)) derived.push('jobId', 'index');
  if (context.attemptId === attemptIdOf(context.taskId, context.attempt)) derived.push('attemptId');
  if (isDefaultRequirements(context.requirements)) derived.push('requirements');
  const kept = omitDefaults(context, DEFAULTS as unknown as JsonObject, derived);
  if (context.attempts.length > 0) kept.attempts = context.attempts.map((record) => compactAttempt(context.taskId, record));
  return kept;
}

const ATTEMPT_ID = ['attemptId'];

function compactAttempt(taskId: string, record: AttemptRecord): JsonObject {
  return omitDefaults(record, ATTEMPT_DEFAULTS, record.attemptId === attemptIdOf(taskId, record.attempt) ? ATTEMPT_ID : []);
}

function expandAttempt(taskId: string, stored: Partial<AttemptRecord>): AttemptRecord {
  const attempt = stored.attempt as number;
  return {
    attemptId: stored.attemptId ?? attemptIdOf(taskId, attempt),
    attempt,
    workerId: stored.workerId as string,
    dispatchedAt: stored.dispatchedAt as number,
    startedAt: stored.startedAt ?? null,
    endedAt: stored.endedAt ?? null,
    outcome: stored.outcome ?? 'active',
    exitCode: stored.exitCode ?? null,
    failureKind: stored.failureKind ?? null,
    errorTail: stored.errorTail ?? null,
  };
}

function isDefaultRequirements(requirements: TaskContext['requirements']): boolean {
  const defaults = DEFAULT_REQUIREMENTS as unknown as Record<string, JsonValue>;
  const given = requirements as unknown as Record<string, JsonValue>;
  const keys = Object.keys(given);
  return keys.length === Object.keys(defaults).length && keys.every((key) => given[key] === defaults[key]);
}

export const taskContextStorage: ContextStorage = {
  compact: (context) => compactTaskContext(context as unknown as TaskContext),
  expand: (stored) => expandTaskContext(stored),
};
