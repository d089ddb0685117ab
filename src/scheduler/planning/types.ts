/**
 * Shared types and helpers of the task planners. Planners are pure: a job
 * spec in, task payloads (in task-index order) and per-task metadata out.
 * Payloads may share nested values with the spec (they are serialised into
 * `task.create` messages); treat both as immutable.
 */
import type { JsonObject, JsonValue } from '../../shared/json.js';

/** One machine-readable validation problem; the gateway turns a non-empty list into a 422. */
export type PlanError = { readonly field: string; readonly message: string };

/** A contiguous numeric range handed to one task. */
export type TaskRange = { readonly start: number; readonly count: number };

/**
 * What the aggregators need to know about a task besides its payload.
 * - `key`: fan_out.by item (unbatched; for `merge_strategy: "keyed"`).
 * - `keys`: the fan_out.by items of a batched task, in order.
 * - `batch`: which slice of the fan-out list (by or items) a batched task carries.
 * - `candidate` / `replica`: benchmark (replica 1-based).
 * - `params`: sweep combination (same object shape as `_sweep_params`).
 * - `range`: fan_out chunks / map_reduce split range.
 */
export type TaskMeta = {
  readonly key?: string;
  readonly keys?: readonly string[];
  readonly batch?: { readonly index: number; readonly start: number; readonly count: number };
  readonly candidate?: string;
  readonly replica?: number;
  readonly params?: JsonObject;
  readonly range?: TaskRange;
};

export type PlanOutcome =
  | { readonly ok: true; readonly payloads: JsonValue[]; readonly tasks?: TaskMeta[] }
  | { readonly ok: false; readonly error: string; readonly errors?: readonly PlanError[] };

/**
 * Upper bound on the tasks one numeric split (fan_out.chunks, split.chunks)
 * may produce. The reference documents no limit; this keeps a one-line body
 * (`"chunks": 1e9`) from exhausting the planner's memory.
 */
export const MAX_CHUNKS = 100_000;

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a JSON value's kind for error messages. */
export function kindOf(value: JsonValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export function isSafeInt(value: JsonValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Flags every key of `obj` not in `allowed` as `<prefix>.<key>`. */
export function unknownKeys(obj: JsonObject, allowed: readonly string[], prefix: string, errors: PlanError[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) errors.push({ field: `${prefix}.${key}`, message: `unknown field; expected one of ${allowed.join(', ')}` });
  }
}

/**
 * Validates a `{chunks, total}` pair (both positive integers, chunks ≤ total,
 * chunks ≤ MAX_CHUNKS) under `prefix`.
 */
export function checkChunks(chunks: JsonValue | undefined, total: JsonValue | undefined, prefix: string, errors: PlanError[]): void {
  const before = errors.length;
  if (total === undefined) errors.push({ field: `${prefix}.total`, message: 'required with chunks' });
  else if (!isSafeInt(total) || total < 1) errors.push({ field: `${prefix}.total`, message: `must be a positive integer (got ${JSON.stringify(total)})` });
  if (chunks === undefined) errors.push({ field: `${prefix}.chunks`, message: 'required with total' });
  else if (!isSafeInt(chunks) || chunks < 1) errors.push({ field: `${prefix}.chunks`, message: `must be a positive integer (got ${JSON.stringify(chunks)})` });
  else if (chunks > MAX_CHUNKS) errors.push({ field: `${prefix}.chunks`, message: `must be at most ${MAX_CHUNKS} (got ${chunks})` });
  if (errors.length === before && (chunks as number) > (total as number)) {
    errors.push({ field: `${prefix}.chunks`, message: `chunks (${chunks as number}) must not exceed total (${total as number})` });
  }
}

/**
 * Splits `total` units starting at `start` into `chunks` contiguous ranges in
 * order. The remainder goes one each to the first ranges, so counts differ by
 * at most one and sum to `total` (10 into 3 → 4, 3, 3).
 */
export function splitEvenly(start: number, total: number, chunks: number): TaskRange[] {
  const base = Math.floor(total / chunks);
  const extra = total % chunks;
  const ranges: TaskRange[] = new Array<TaskRange>(chunks);
  let at = start;
  for (let i = 0; i < chunks; i++) {
    const count = base + (i < extra ? 1 : 0);
    ranges[i] = { start: at, count };
    at += count;
  }
  return ranges;
}

/** The failure outcome for a non-empty error list. */
export function failed(errors: readonly PlanError[]): PlanOutcome {
  return { ok: false, error: formatPlanErrors(errors), errors };
}

/** `field: message; field: message` — the one-line form the job records as its planning error. */
export function formatPlanErrors(errors: readonly PlanError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/**
 * Sets an own enumerable property, even for a key like `__proto__` that plain
 * assignment would treat as the prototype (JSON bodies may carry any key).
 */
export function put(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function checkRankBy(spec: JsonObject, errors: PlanError[]): void {
  const rankBy = spec.rank_by;
  if (rankBy === undefined) errors.push({ field: 'rank_by', message: 'required: the result field to rank by' });
  else if (typeof rankBy !== 'string' || rankBy === '') errors.push({ field: 'rank_by', message: `must be a non-empty result field name (got ${JSON.stringify(rankBy)})` });
  const order = spec.rank_order;
  if (order !== undefined && order !== 'asc' && order !== 'desc') errors.push({ field: 'rank_order', message: `must be "asc" or "desc" (got ${JSON.stringify(order)})` });
}
