/**
 * The JSON carried by each SSE frame of the job streams (docs/streams.md).
 * Frames are built from the same public read models the REST routes return,
 * so a stream never shows a field `GET /api/v1/jobs/:id` would hide.
 */
import { stringOf, type JsonObject } from '../../shared/json.js';
import type { EventLogRecord } from '../../store/store.js';
import { isTerminalJob, resultSurface } from '../jobs/result-view.js';

/** Every `event:` name the job streams send. */
export type StreamEventName = 'snapshot' | 'job' | 'task' | 'event' | 'ping' | 'done' | 'timeout';

/**
 * A `job` frame: the public job view with `job_id`. A terminal job also
 * carries the result surface of `GET /api/v1/results/:job_id` (client_ref,
 * tags, meta, variant, summary with aggregation, aggregate_result,
 * aggregate_aliases, completeness, result_persisted, output_persisted), so a
 * client can skip the follow-up result fetch. `tasks` must then hold the
 * job's first 1000 task views, as the results route reads them.
 */
export function jobFrame(job: JsonObject, tasks: readonly JsonObject[] | null): JsonObject {
  const base: JsonObject = { job_id: stringOf(job.id), ...job };
  if (!isTerminalJob(job) || tasks === null) return base;
  return { ...base, ...resultSurface(job, tasks) };
}

/** A `task` frame: the public task view with `job_id` and `task_id` named explicitly. */
export function taskFrame(task: JsonObject): JsonObject {
  return { ...task, job_id: stringOf(task.job_id), task_id: stringOf(task.id) };
}

/** An `event` frame: one line of the job's event log, shaped like `GET /api/v1/jobs/:id/events`. */
export function eventFrame(jobId: string, record: EventLogRecord): JsonObject {
  return { job_id: jobId, seq: record.seq, at: new Date(record.at).toISOString(), type: record.type, data: record.data ?? null };
}
