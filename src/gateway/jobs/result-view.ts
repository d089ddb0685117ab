/**
 * The canonical result surface of a job, shared by `GET /api/v1/results/:job_id`
 * and the terminal `job` frames of the SSE streams, so both always agree.
 */
import { JOB_TERMINAL_STATUSES } from '../../actors/job/job.events.js';
import { aggregateJob, type AggregateTask } from '../../jobs/aggregate/index.js';
import { stringOf, type JsonObject } from '../../shared/json.js';

/** Job statuses after which nothing about the job changes any more. */
export const TERMINAL_JOB_STATUSES: ReadonlySet<string> = new Set(JOB_TERMINAL_STATUSES);

/** Whether a public job view is in a terminal status. */
export function isTerminalJob(job: JsonObject): boolean {
  return TERMINAL_JOB_STATUSES.has(stringOf(job.status));
}

/**
 * The job-level part of the result surface: submission echo (client_ref,
 * tags, meta, variant), the job summary merged with its type's aggregation
 * (merge strategy, sweep or benchmark leaderboard, map_reduce reduction),
 * completeness and the persistence flags. `tasks` are the job's task views
 * (the first 1000 at most, like every reader of the surface).
 */
export function resultSurface(job: JsonObject, tasks: readonly JsonObject[]): JsonObject {
  const aggregate = aggregateJob(stringOf(job.type, 'structured_runner'), job, tasks.map(toAggregateTask));
  const terminal = isTerminalJob(job);
  return {
    client_ref: job.client_ref ?? null,
    tags: job.tags ?? [],
    meta: job.meta ?? null,
    variant: job.variant ?? null,
    summary: { ...(job.summary as JsonObject), ...aggregate.summary },
    aggregate_result: aggregate.aggregate_result,
    aggregate_aliases: aggregate.aggregate_aliases,
    completeness: aggregate.completeness,
    result_persisted: terminal,
    output_persisted: terminal,
  };
}

/**
 * `GET /api/v1/results/:job_id`: raw per-task results plus the job-level
 * {@link resultSurface}.
 */
export function resultView(job: JsonObject, tasks: readonly JsonObject[]): JsonObject {
  return {
    job_id: job.id ?? null,
    status: job.status ?? null,
    type: job.type ?? null,
    project: job.project ?? null,
    ...resultSurface(job, tasks),
    tasks: tasks.map((t) => ({
      task_id: t.id ?? null,
      index: t.index ?? null,
      status: t.status ?? null,
      payload: t.payload ?? null,
      result: t.result ?? null,
      result_quality: t.result_quality ?? null,
      result_warnings: t.result_warnings ?? [],
      result_present: t.result_present ?? false,
      output_present: t.output_present ?? false,
      error: t.error ?? null,
      failure_kind: t.failure_kind ?? null,
      exit_code: t.exit_code ?? null,
      attempts: Array.isArray(t.attempts) ? t.attempts.length : 0,
      runtime_s: t.runtime_s ?? null,
      project_content_hash: job.project_content_hash ?? null,
    })),
  };
}

function toAggregateTask(task: JsonObject): AggregateTask {
  return {
    index: typeof task.index === 'number' ? task.index : 0,
    task_id: stringOf(task.id),
    status: stringOf(task.status),
    payload: task.payload ?? null,
    result: task.result ?? null,
    ...(typeof task.result_quality === 'number' ? { quality: task.result_quality } : {}),
  };
}
