import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ActorKind, PersistedActorState } from '../runtime/actor-kind.js';
import { ENTITY_KIND, isoOrNull } from '../shared/ids.js';
import { readCount, readNumber, readObject, readString, readStringArray, readStringOrNull } from '../shared/json-fields.js';
import type { JobBilling, JobInput, JobPriority, JobStatus, JobTaskFinishedEvent, JobTasksFinishedEvent } from './job.events.js';
import { finishedCount, type JobContext } from './job.logic.js';
import { jobMachine, type JobMachine } from './job.machine.js';
import { jobContextStorage } from './job.storage.js';

/** Per-task timeout when the submission names none, seconds. */
export const DEFAULT_JOB_TIMEOUT_S = 600;

/** Builds the job's input from `job.submit`; any other event to a missing job is dropped. */
export function jobInputFromCreateEvent(id: string, event: JsonObject & { type: string; at: number }): JobInput | undefined {
  if (event.type !== 'job.submit') return undefined;
  const accountId = readString(event, 'accountId', '');
  if (accountId === '') return undefined;
  const priority = readString(event, 'priority', 'normal');
  const mode = readString(event, 'reliabilityMode', 'best_effort');
  return {
    jobId: id,
    accountId,
    jobType: readString(event, 'jobType', 'structured_runner'),
    project: readStringOrNull(event, 'project'),
    spec: readObject(event, 'spec') ?? {},
    priority: (['high', 'normal', 'low'].includes(priority) ? priority : 'normal') as JobPriority,
    reliabilityMode: mode === 'strict_complete' ? 'strict_complete' : 'best_effort',
    tags: readStringArray(event, 'tags'),
    dependsOn: readStringArray(event, 'dependsOn'),
    timeoutS: Math.max(1, readNumber(event, 'timeoutS', DEFAULT_JOB_TIMEOUT_S)),
    clientRef: readStringOrNull(event, 'clientRef'),
    callbackUrl: readStringOrNull(event, 'callbackUrl'),
    billing: readBilling(readObject(event, 'billing')),
    createdAt: event.at,
  };
}

function readBilling(raw: JsonObject | null): JobBilling | null {
  if (raw === null) return null;
  const holdId = readString(raw, 'holdId', '');
  if (holdId === '') return null;
  return {
    holdId,
    holdMicros: readCount(raw, 'holdMicros', 0),
    rateMicrosPerSecond: Math.max(0, readNumber(raw, 'rateMicrosPerSecond', 0)),
  };
}

/** The public status: the top-level state name. */
export function jobStatusOf(value: JsonValue): JobStatus {
  const top = typeof value === 'string' ? value : Object.keys(value ?? {})[0];
  return (top ?? 'planning') as JobStatus;
}

const usd = (micros: number | null) => (micros === null ? null : micros / 1_000_000);

/**
 * The public job view (`GET /api/v1/jobs/:id`, snake_case): the submission
 * (`spec`: payload, meta, variant, …) with the platform's fields over it.
 */
export function jobReadModel(state: PersistedActorState, id: string): JsonValue {
  const c = state.context as unknown as JobContext;
  const total = c.taskCount ?? 0;
  const finished = finishedCount(c.counts);
  return {
    ...c.spec,
    id,
    account_id: c.accountId,
    status: jobStatusOf(state.value),
    type: c.jobType,
    project: c.project,
    priority: c.priority,
    reliability_mode: c.reliabilityMode,
    tags: c.tags,
    depends_on: c.dependsOn,
    waiting_for: c.pendingDependencies,
    client_ref: c.clientRef,
    timeout_s: c.timeoutS,
    error: c.error,
    recommended_action: c.recommendedAction,
    cancel_reason: c.cancelReason,
    created_at: isoOrNull(c.createdAt),
    queued_at: isoOrNull(c.queuedAt),
    started_at: isoOrNull(c.startedAt),
    completed_at: isoOrNull(c.finishedAt),
    summary: {
      tasks: {
        total,
        pending: Math.max(0, total - finished),
        finished,
        succeeded: c.counts.succeeded,
        failed: c.counts.failed,
        cancelled: c.counts.cancelled,
        timed_out: c.counts.timedOut,
      },
      progress: total === 0 ? null : finished / total,
      quality: {
        mean_quality: c.qualityCount === 0 ? null : c.qualitySum / c.qualityCount,
        suspect_count: c.lowQualityCount,
        suspect_task_ids: c.suspectTaskIds,
      },
      billing_hold: c.billing
        ? {
            hold_id: c.billing.holdId,
            status: c.holdStatus,
            estimated_hold_usd: usd(c.billing.holdMicros),
            charged_usd: usd(c.chargedMicros),
          }
        : null,
    },
  };
}

/** Task reports in a row become one `job.tasks_finished`, stamped with the last one's time. */
export function foldTaskReports(events: readonly (JsonObject & { type: string; at: number })[]): JobTasksFinishedEvent {
  const reports = events as unknown as JobTaskFinishedEvent[];
  return { type: 'job.tasks_finished', at: reports[reports.length - 1]?.at ?? 0, reports };
}

export const jobKind: ActorKind<JobMachine> = {
  kind: ENTITY_KIND.job,
  machine: jobMachine,
  routingKey(id) {
    return id;
  },
  inputFromCreateEvent: jobInputFromCreateEvent,
  createEvent: 'job.submit',
  readModel: jobReadModel,
  contextStorage: jobContextStorage,
  batchedEvents: { type: 'job.task_finished', fold: foldTaskReports },
};
