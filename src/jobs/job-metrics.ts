import { LOW_QUALITY_THRESHOLD } from '../actors/job/job.logic.js';
import { stringOf, type JsonObject } from '../shared/json.js';

/**
 * `GET /api/v1/jobs/:id/metrics`: aggregate numbers over a job's tasks, from
 * the same task views `/tasks` shows. Times are seconds; a statistic over an
 * empty set is null, never 0 (0 would read as a measurement).
 */
export interface JobMetrics {
  job_id: string;
  status: string;
  tasks: { total: number; by_status: Record<string, number> };
  attempts: { total: number; retried_tasks: number; retries: number; by_outcome: Record<string, number>; by_failure_kind: Record<string, number> };
  /** Per-task runtime summed over its attempts. */
  runtime_s: Distribution & { total: number };
  /** Task created → first attempt started. */
  queue_wait_s: Distribution;
  quality: { scored: number; mean: number | null; min: number | null; below_threshold: number };
  /** Job created → terminal (or now, while it runs). */
  wall_clock_s: number | null;
  /** Finished tasks per second of wall clock since the first task started. */
  throughput_tasks_per_s: number | null;
  progress: number | null;
}

export interface Distribution {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

export function jobMetrics(job: JsonObject, tasks: readonly JsonObject[], now: number): JobMetrics {
  const byStatus: Record<string, number> = {};
  const byOutcome: Record<string, number> = {};
  const byFailureKind: Record<string, number> = {};
  const runtimes: number[] = [];
  const waits: number[] = [];
  const qualities: number[] = [];
  let attempts = 0;
  let retriedTasks = 0;
  let firstStart: number | null = null;
  let finished = 0;
  for (const task of tasks) {
    const status = stringOf(task.status);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (FINISHED.has(status)) finished += 1;
    const taskAttempts = Array.isArray(task.attempts) ? (task.attempts as JsonObject[]) : [];
    attempts += taskAttempts.length;
    if (taskAttempts.length > 1) retriedTasks += 1;
    for (const attempt of taskAttempts) {
      const outcome = typeof attempt.outcome === 'string' ? attempt.outcome : 'in_progress';
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
      if (typeof attempt.failure_kind === 'string') byFailureKind[attempt.failure_kind] = (byFailureKind[attempt.failure_kind] ?? 0) + 1;
    }
    if (typeof task.runtime_s === 'number' && FINISHED.has(status)) runtimes.push(task.runtime_s);
    const created = epoch(task.created_at);
    const started = epoch(task.started_at);
    if (created !== null && started !== null) waits.push(Math.max(0, (started - created) / 1000));
    if (started !== null) firstStart = firstStart === null ? started : Math.min(firstStart, started);
    if (status === 'succeeded' && typeof task.result_quality === 'number') qualities.push(task.result_quality);
  }
  const jobCreated = epoch(job.created_at);
  const jobEnded = epoch(job.completed_at) ?? now;
  const activeSeconds = firstStart === null ? null : (jobEnded - firstStart) / 1000;
  const summary = (job.summary ?? {}) as JsonObject;
  const total = typeof (summary.tasks as JsonObject | undefined)?.total === 'number' ? ((summary.tasks as JsonObject).total as number) : tasks.length;
  return {
    job_id: stringOf(job.id),
    status: stringOf(job.status),
    tasks: { total, by_status: byStatus },
    attempts: { total: attempts, retried_tasks: retriedTasks, retries: Math.max(0, attempts - tasks.filter((t) => Array.isArray(t.attempts) && t.attempts.length > 0).length), by_outcome: byOutcome, by_failure_kind: byFailureKind },
    runtime_s: { ...distribution(runtimes), total: round(runtimes.reduce((sum, value) => sum + value, 0)) },
    queue_wait_s: distribution(waits),
    quality: {
      scored: qualities.length,
      mean: qualities.length === 0 ? null : round(qualities.reduce((sum, q) => sum + q, 0) / qualities.length),
      min: qualities.length === 0 ? null : Math.min(...qualities),
      below_threshold: qualities.filter((q) => q < LOW_QUALITY_THRESHOLD).length,
    },
    wall_clock_s: jobCreated === null ? null : round((jobEnded - jobCreated) / 1000),
    throughput_tasks_per_s: activeSeconds === null || activeSeconds <= 0 ? null : round(finished / activeSeconds),
    progress: total === 0 ? null : round(finished / total),
  };
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: null, p50: null, p95: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return {
    count: sorted.length,
    mean: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    max: round(sorted[sorted.length - 1] as number),
  };
}

function epoch(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** Millisecond precision is all the inputs carry. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
