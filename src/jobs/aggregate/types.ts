import type { JsonObject, JsonValue } from '../../shared/json.js';
import { isJsonObject } from '../../actors/shared/json-fields.js';

export { isJsonObject };

/** Job types whose results this module aggregates (api-details §5.1). */
export type JobType = 'structured_runner' | 'sweep' | 'map_reduce' | 'benchmark';

/**
 * One task as the aggregator sees it. `status` is the task's public status or outcome
 * string; only `succeeded` (or its synonym `completed`) tasks contribute results —
 * failed, cancelled, timed-out and still-running tasks are excluded everywhere and
 * show up as `missing_tasks` in completeness.
 */
export interface AggregateTask {
  /** 0-based position in the job's plan; aggregation orders by it. */
  index: number;
  /** Optional public task id; used in `suspect_task_ids` when present, else `index`. */
  task_id?: string;
  status: string;
  payload: JsonValue;
  /** The runner's result; `null` when the task wrote none (or has not finished). */
  result: JsonValue | null;
  /** Precomputed `result_quality`; `null`/absent → scored here from the job's schema. */
  quality?: number | null;
}

const SUCCEEDED = new Set(['succeeded', 'completed']);
const TERMINAL = new Set(['succeeded', 'completed', 'failed', 'cancelled', 'canceled', 'timed_out', 'worker_lost']);

export function isSucceeded(task: Pick<AggregateTask, 'status'>): boolean {
  return SUCCEEDED.has(task.status);
}

/** Not yet finished (queued, leased, running, retrying…): anything not terminal. */
export function isPending(task: Pick<AggregateTask, 'status'>): boolean {
  return !TERMINAL.has(task.status);
}

/** Succeeded tasks that carry a non-null result, in plan (`index`) order. */
export function contributing(tasks: readonly AggregateTask[]): AggregateTask[] {
  return tasks.filter((task) => isSucceeded(task) && task.result !== null).sort((a, b) => a.index - b.index);
}

/** A finite JSON number, else null. */
export function finiteNumber(value: JsonValue | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * A field of an object result. `null` values count as absent throughout this module
 * ("having the field" means present and non-null); non-object results have no fields.
 */
export function fieldOf(result: JsonValue | null | undefined, field: string): JsonValue | undefined {
  if (result === null || result === undefined || !isJsonObject(result)) return undefined;
  const value = result[field];
  return value === null ? undefined : value;
}

export function objectOr(value: JsonValue | undefined, fallback: JsonObject = {}): JsonObject {
  return isJsonObject(value) ? value : fallback;
}
