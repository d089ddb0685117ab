/**
 * map_reduce planning (reference Journey 7): the `split` range becomes one
 * task per chunk, payload = `payload` ∪ `{<field>_start, <field>_count}`
 * (the range keys win over same-named payload keys).
 *
 * `split` is exactly one of
 * - `{field, start?, total, chunks}` — `start` defaults to 0; contiguous
 *   chunks, counts differ by at most one (the first total mod chunks get one
 *   more) and sum to `total`; or
 * - `{field, ranges: [{start, count}, …]}` — one task per range, in the given
 *   order; starts are integers, counts ≥ 1, and ranges must not overlap.
 *
 * `reduce` is required (a map_reduce with nothing to reduce is a fan-out):
 * a non-empty map of result field → operator, operators being `sum`, `mean`,
 * `max`, `min`, `weighted_avg:<weight_field>`, `concat`, `count`, `collect`.
 */
import type { JsonObject, JsonValue } from '../../shared/json.js';
import { checkChunks, failed, isJsonObject, isSafeInt, kindOf, splitEvenly, unknownKeys, type PlanError, type PlanOutcome, type TaskMeta, type TaskRange } from './types.js';

export const REDUCE_OPERATORS = ['sum', 'mean', 'max', 'min', 'weighted_avg:<field>', 'concat', 'count', 'collect'] as const;
const SIMPLE_OPERATORS = new Set(['sum', 'mean', 'max', 'min', 'concat', 'count', 'collect']);

/** How many bad ranges are reported one by one. */
const MAX_RANGE_ERRORS = 10;

/** Whether `op` is a known reduce operator. */
export function isReduceOperator(op: string): boolean {
  if (SIMPLE_OPERATORS.has(op)) return true;
  return /^weighted_avg:\S+$/.test(op);
}

function validateRanges(ranges: JsonValue | undefined, errors: PlanError[]): void {
  if (!Array.isArray(ranges)) {
    errors.push({ field: 'split.ranges', message: `must be a list of {start, count} (got ${kindOf(ranges)})` });
    return;
  }
  if (ranges.length === 0) {
    errors.push({ field: 'split.ranges', message: 'is empty; needs at least one {start, count}' });
    return;
  }
  const before = errors.length;
  const report = (error: PlanError): void => {
    if (errors.length - before < MAX_RANGE_ERRORS) errors.push(error);
  };
  ranges.forEach((range, i) => {
    const at = `split.ranges[${i}]`;
    if (!isJsonObject(range)) return report({ field: at, message: `must be {start, count} (got ${kindOf(range)})` });
    for (const key of Object.keys(range)) if (key !== 'start' && key !== 'count') report({ field: `${at}.${key}`, message: 'unknown field; expected start, count' });
    if (!isSafeInt(range.start)) report({ field: `${at}.start`, message: `must be an integer (got ${range.start === undefined ? 'missing' : JSON.stringify(range.start)})` });
    if (!isSafeInt(range.count) || range.count < 1) report({ field: `${at}.count`, message: `must be a positive integer (got ${range.count === undefined ? 'missing' : JSON.stringify(range.count)})` });
  });
  if (errors.length > before) return;
  const sorted = (ranges as { start: number; count: number }[]).map((r, i) => ({ start: r.start, end: r.start + r.count, i })).sort((a, b) => a.start - b.start || a.i - b.i);
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1] as { start: number; end: number; i: number };
    const cur = sorted[k] as { start: number; end: number; i: number };
    if (cur.start < prev.end) {
      const [first, second] = prev.i < cur.i ? [prev.i, cur.i] : [cur.i, prev.i];
      report({ field: `split.ranges[${second}]`, message: `overlaps split.ranges[${first}]` });
    }
  }
}

export function validateMapReduce(spec: JsonObject): PlanError[] {
  const errors: PlanError[] = [];
  if (spec.payload !== undefined && !isJsonObject(spec.payload)) errors.push({ field: 'payload', message: `must be an object (got ${kindOf(spec.payload)})` });
  const split = spec.split;
  if (split === undefined) errors.push({ field: 'split', message: 'required: {field, start, total, chunks} or {field, ranges}' });
  else if (!isJsonObject(split)) errors.push({ field: 'split', message: `must be an object (got ${kindOf(split)})` });
  else {
    const field = split.field;
    if (typeof field !== 'string' || field === '') errors.push({ field: 'split.field', message: `must name the ranged quantity, e.g. "seed" (got ${field === undefined ? 'missing' : JSON.stringify(field)})` });
    const contiguous = 'start' in split || 'total' in split || 'chunks' in split;
    const explicit = 'ranges' in split;
    unknownKeys(split, ['field', 'start', 'total', 'chunks', 'ranges'], 'split', errors);
    if (contiguous && explicit) errors.push({ field: 'split', message: 'mixes {start, total, chunks} with ranges; choose one' });
    else if (!contiguous && !explicit) errors.push({ field: 'split', message: 'needs either {start, total, chunks} or ranges' });
    else if (explicit) validateRanges(split.ranges, errors);
    else {
      if (split.start !== undefined && !isSafeInt(split.start)) errors.push({ field: 'split.start', message: `must be an integer (got ${JSON.stringify(split.start)})` });
      checkChunks(split.chunks, split.total, 'split', errors);
    }
  }
  const reduce = spec.reduce;
  if (reduce === undefined) errors.push({ field: 'reduce', message: 'required: a map of result field → operator' });
  else if (!isJsonObject(reduce)) errors.push({ field: 'reduce', message: `must be an object (got ${kindOf(reduce)})` });
  else {
    const keys = Object.keys(reduce);
    if (keys.length === 0) errors.push({ field: 'reduce', message: 'needs at least one result field → operator' });
    for (const key of keys) {
      const op = reduce[key];
      if (key === '') errors.push({ field: 'reduce.', message: 'result field name must not be empty' });
      if (typeof op !== 'string' || !isReduceOperator(op)) {
        errors.push({ field: `reduce.${key}`, message: `unknown operator ${JSON.stringify(op)}; expected one of ${REDUCE_OPERATORS.join(', ')}` });
      }
    }
  }
  return errors;
}

export function planMapReduce(spec: JsonObject): PlanOutcome {
  const errors = validateMapReduce(spec);
  if (errors.length > 0) return failed(errors);
  const split = spec.split as JsonObject;
  const field = split.field as string;
  const payload: JsonObject = isJsonObject(spec.payload) ? spec.payload : {};
  const ranges: TaskRange[] = Array.isArray(split.ranges)
    ? (split.ranges as JsonObject[]).map((r) => ({ start: r.start as number, count: r.count as number }))
    : splitEvenly(typeof split.start === 'number' ? split.start : 0, split.total as number, split.chunks as number);
  const startKey = `${field}_start`;
  const countKey = `${field}_count`;
  const payloads: JsonValue[] = [];
  const tasks: TaskMeta[] = [];
  for (const range of ranges) {
    payloads.push({ ...payload, [startKey]: range.start, [countKey]: range.count });
    tasks.push({ range });
  }
  return { ok: true, payloads, tasks };
}
