import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ActorKind, PersistedActorState } from '../runtime/actor-kind.js';
import { ENTITY_KIND, isoOrNull, parseTaskId } from '../shared/ids.js';
import { readBoolean, readCount, readNumber, readString } from '../shared/json-fields.js';
import { normaliseRequirements, requirementsToJson } from '../shared/resources.js';
import type { TaskInput, TaskPriority } from './task.events.js';
import type { TaskContext } from './task.logic.js';
import { taskMachine, type TaskMachine } from './task.machine.js';
import { TASK_DEFAULTS, taskContextStorage } from './task.storage.js';


const PRIORITIES: readonly TaskPriority[] = ['high', 'normal', 'low'];


/**
 * Builds the task's input from `task.create`. The id must be `<jobId>.t<index>`
 * matching the event, so a task can never be created under another job.
 */
export function taskInputFromCreateEvent(id: string, event: JsonObject & { type: string; at: number }): TaskInput | undefined {
  if (event.type !== 'task.create') return undefined;
  const parsed = parseTaskId(id);
  if (!parsed) return undefined;
  if (readString(event, 'jobId', parsed.jobId) !== parsed.jobId) return undefined;
  if (readCount(event, 'index', parsed.index) !== parsed.index) return undefined;
  const priority = readString(event, 'priority', 'normal') as TaskPriority;
  return {
    taskId: id,
    jobId: parsed.jobId,
    index: parsed.index,
    payload: event['payload'] ?? null,
    requirements: normaliseRequirements(event['requirements']),
    timeoutS: Math.max(1, readNumber(event, 'timeoutS', TASK_DEFAULTS.timeoutS)),
    graceS: Math.max(0, readNumber(event, 'graceS', TASK_DEFAULTS.graceS)),
    startTimeoutS: Math.max(1, readNumber(event, 'startTimeoutS', TASK_DEFAULTS.startTimeoutS)),
    maxRetries: readCount(event, 'maxRetries', TASK_DEFAULTS.maxRetries),
    priority: PRIORITIES.includes(priority) ? priority : 'normal',
    blocked: readBoolean(event, 'blocked', false),
    dispatchOnCreate: readString(event, 'dispatchTo', '') === '' ? null : { workerId: readString(event, 'dispatchTo', ''), at: event.at },
    // A job's tasks are created as they are first dispatched, but count as created with their job.
    createdAt: readNumber(event, 'createdAt', event.at),
  };
}

/** The public status: `pending` covers blocked, ready and backoff. */
export function taskStatusOf(value: JsonValue): string {
  if (typeof value === 'string') return value;
  return 'pending';
}

/** What keeps a pending task waiting, for `GET /jobs/:id/tasks`. */
function pendingReason(value: JsonValue): string | null {
  if (typeof value === 'string' || value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const sub = value['pending'];
  if (sub === 'blocked') return 'waiting_dependencies';
  if (sub === 'backoff') return 'retry_backoff';
  return 'queued';
}

/**
 * The public task view (snake_case, as `GET /api/v1/jobs/:id/tasks`).
 * Placement fields (worker ids) are left out, as the reference redacts them.
 */
export function taskReadModel(state: PersistedActorState, id: string): JsonValue {
  const c = state.context as unknown as TaskContext;
  return {
    id,
    job_id: c.jobId,
    index: c.index,
    status: taskStatusOf(state.value),
    pending_reason: pendingReason(state.value),
    attempt: c.attempt,
    attempt_id: c.attemptId,
    max_retries: c.maxRetries,
    payload: c.payload,
    requirements: requirementsToJson(c.requirements),
    timeout_s: c.timeoutS,
    priority: c.priority,
    result: c.result,
    result_present: c.result !== null,
    result_quality: c.resultQuality,
    result_warnings: c.resultWarnings,
    error: c.error,
    failure_kind: c.failureKind,
    exit_code: c.exitCode,
    latest_progress: c.latestProgress,
    live_feedback: { output_tail: c.outputTail },
    output_present: c.outputTail !== null,
    runtime_s: c.runtimeMs / 1000,
    cancel_reason: c.cancelReason,
    retry_due_at: isoOrNull(c.retryDueAt),
    created_at: isoOrNull(c.createdAt),
    started_at: isoOrNull(c.firstStartedAt),
    finished_at: isoOrNull(c.finishedAt),
    attempts: c.attempts.map((a) => ({
      attempt_id: a.attemptId,
      attempt: a.attempt,
      outcome: a.outcome,
      dispatched_at: isoOrNull(a.dispatchedAt),
      started_at: isoOrNull(a.startedAt),
      ended_at: isoOrNull(a.endedAt),
      exit_code: a.exitCode,
      failure_kind: a.failureKind,
      error: a.errorTail,
    })),
  };
}

/** Tasks route by their job id: a job and its tasks share a shard and commit together. */
export const taskKind: ActorKind<TaskMachine> = {
  kind: ENTITY_KIND.task,
  machine: taskMachine,
  routingKey(id) {
    return parseTaskId(id)?.jobId ?? id;
  },
  inputFromCreateEvent: taskInputFromCreateEvent,
  createEvent: 'task.create',
  readModel: taskReadModel,
  // A task is written three or more times and listed rarely: its view is worked out when read.
  readModelStorage: 'derived',
  // No event log: nothing reads one (users read the job's), and a task's
  // history is its `attempts`, kept in its snapshot. Saves a list push per
  // state change, four per task.
  logEntry: () => undefined,
  contextStorage: taskContextStorage,
};
