import type { JsonObject, JsonValue } from '../../shared/json.js';
import { type AggregateTask, contributing, fieldOf, finiteNumber, isJsonObject, isPending, objectOr } from './types.js';

/**
 * structured_runner merge strategies (reference "Merge strategies"):
 * `collect` (default), `keyed` (needs `fan_out.by`), `weighted_avg` (needs
 * `value_field` + `weight_field`). Only succeeded tasks with a non-null result
 * contribute; results are taken in plan (`index`) order.
 */

export type MergeStrategy = 'collect' | 'keyed' | 'weighted_avg';

/** `collect`: the results, in task order; failed/pending/result-less tasks are left out. */
export function mergeCollect(tasks: readonly AggregateTask[]): JsonValue[] {
  return contributing(tasks).map((task) => task.result);
}

/** How a fan-out item becomes a key: strings as-is, other scalars via String(), objects/arrays as JSON. */
export function keyOf(item: JsonValue): string {
  if (typeof item === 'string') return item;
  if (item === null || typeof item === 'number' || typeof item === 'boolean') return String(item);
  return JSON.stringify(item);
}

export interface KeyedMerge {
  results: JsonObject;
  warnings: string[];
}

function isBatched(fanOut: JsonObject, payload: JsonObject): boolean {
  const size = (v: JsonValue | undefined): boolean => typeof v === 'number' && v > 0;
  return size(fanOut['batch_size']) || size(fanOut['batch_per_task']) || payload['_batch'] !== undefined;
}

/**
 * `keyed`: `{ key(item): result }` where item is the task's `payload[fan_out.by]`.
 *
 * Batched fan-out (`fan_out.batch_size` / `batch_per_task`, or a `payload._batch`
 * marker) gives a task a sub-list of items; its result is split per item when it is
 * - an array with exactly one entry per item (aligned by position), or
 * - an object with a key (as {@link keyOf} spells it) for the item.
 * Anything else (a length-mismatched array, a scalar, an object missing an item's key)
 * leaves those items out with a warning rather than guessing.
 * A key seen twice keeps the first task's (lowest index) result, with a warning.
 */
export function mergeKeyed(tasks: readonly AggregateTask[], fanOut: JsonObject): KeyedMerge {
  const by = fanOut['by'];
  const results: JsonObject = {};
  const warnings: string[] = [];
  if (typeof by !== 'string') return { results, warnings: ['keyed merge needs fan_out.by'] };
  const put = (key: string, value: JsonValue, task: AggregateTask): void => {
    if (Object.hasOwn(results, key)) {
      warnings.push(`task ${task.index}: duplicate key "${key}" ignored`);
      return;
    }
    results[key] = value;
  };
  for (const task of contributing(tasks)) {
    const payload = objectOr(task.payload);
    const item = payload[by];
    const result = task.result;
    if (item === undefined) {
      warnings.push(`task ${task.index}: payload has no "${by}"`);
      continue;
    }
    if (!(isBatched(fanOut, payload) && Array.isArray(item))) {
      put(keyOf(item), result, task);
      continue;
    }
    if (Array.isArray(result)) {
      if (result.length !== item.length) {
        warnings.push(`task ${task.index}: batch result has ${result.length} entries for ${item.length} items; batch left out`);
        continue;
      }
      item.forEach((entry, i) => put(keyOf(entry), result[i] ?? null, task));
    } else if (isJsonObject(result)) {
      for (const entry of item) {
        const key = keyOf(entry);
        if (Object.hasOwn(result, key)) put(key, result[key] ?? null, task);
        else warnings.push(`task ${task.index}: batch result has no entry for "${key}"`);
      }
    } else {
      warnings.push(`task ${task.index}: batch result is neither a list nor an object keyed by item; batch left out`);
    }
  }
  return { results, warnings };
}

/** The alias a weighted average is published under: `avg_<value_field>` (no doubled `avg_`). */
export function weightedAlias(valueField: string): string {
  return valueField.startsWith('avg_') ? valueField : `avg_${valueField}`;
}

export interface WeightedMerge {
  value: number | null;
  alias: string;
  value_field: string;
  weight_field: string;
  expected_weight: number;
  completed_weight: number;
  pending_weight: number;
  contributing_tasks: number;
  warnings: string[];
}

/**
 * `weighted_avg`: Σ value×weight / Σ weight over succeeded tasks whose result has both
 * fields numeric and a non-negative weight (others are skipped with a warning);
 * `value` is null when no weight was completed (Σ weight = 0).
 *
 * Coverage:
 * - `completed_weight`: Σ weight of the contributing tasks.
 * - `pending_weight`: Σ `payload[weight_field]` of tasks not yet finished (a pending
 *   task with no numeric payload weight adds 0 — its weight is unknown).
 * - `expected_weight`: `spec.expected_weight` when given; else, when every task's payload
 *   carries a numeric `weight_field` (the plan knows it), their sum; else
 *   completed + pending. Failed tasks' weight thus shows as the gap
 *   `expected − completed − pending`.
 */
export function mergeWeightedAvg(tasks: readonly AggregateTask[], spec: JsonObject): WeightedMerge {
  const valueField = typeof spec['value_field'] === 'string' ? spec['value_field'] : '';
  const weightField = typeof spec['weight_field'] === 'string' ? spec['weight_field'] : '';
  const warnings: string[] = [];
  if (valueField === '' || weightField === '') warnings.push('weighted_avg needs value_field and weight_field');
  let weighted = 0;
  let completed = 0;
  let count = 0;
  for (const task of contributing(tasks)) {
    const value = finiteNumber(fieldOf(task.result, valueField));
    const weight = finiteNumber(fieldOf(task.result, weightField));
    if (value === null || weight === null) {
      warnings.push(`task ${task.index}: result lacks numeric "${valueField}" and "${weightField}"; skipped`);
      continue;
    }
    if (weight < 0) {
      warnings.push(`task ${task.index}: negative weight ${weight}; skipped`);
      continue;
    }
    weighted += value * weight;
    completed += weight;
    count += 1;
  }
  let pending = 0;
  for (const task of tasks) if (isPending(task)) pending += finiteNumber(objectOr(task.payload)[weightField]) ?? 0;
  const planWeights = tasks.map((task) => finiteNumber(objectOr(task.payload)[weightField]));
  const explicit = finiteNumber(spec['expected_weight']);
  const expected =
    explicit ??
    (tasks.length > 0 && planWeights.every((w) => w !== null) ? planWeights.reduce<number>((a, w) => a + (w ?? 0), 0) : completed + pending);
  return {
    value: completed > 0 ? weighted / completed : null,
    alias: weightedAlias(valueField),
    value_field: valueField,
    weight_field: weightField,
    expected_weight: expected,
    completed_weight: completed,
    pending_weight: pending,
    contributing_tasks: count,
    warnings,
  };
}
