import type { JsonObject, JsonValue } from '../../shared/json.js';
import { type AggregateTask, contributing, fieldOf, finiteNumber, isJsonObject } from './types.js';

export const REDUCE_OPERATORS = ['sum', 'mean', 'max', 'min', 'weighted_avg:<field>', 'concat', 'count', 'collect'] as const;

export interface ReduceOutcome {
  reduced: JsonObject;
  warnings: string[];
}

/**
 * Journey 7 `reduced`: for each `field: operator` of `spec.reduce`, over the results of
 * succeeded tasks (task order) that have the field (present and non-null):
 * - `sum`, `mean`, `max`, `min`: numeric values only; a non-numeric value is skipped with
 *   a warning. No numeric value at all → null (never a misleading 0).
 * - `weighted_avg:<w>`: Σ v·w / Σ w with w = that result's `<w>` field; results lacking a
 *   numeric v, a numeric w, or with w < 0 are skipped with a warning; Σ w = 0 → null.
 * - `concat`: arrays are concatenated, any other value appended.
 * - `count`: how many results have the field.
 * - `collect`: the values, as a list.
 * An unknown operator yields null and a warning.
 */
export function reduceResults(tasks: readonly AggregateTask[], reduce: JsonValue | undefined): ReduceOutcome {
  const reduced: JsonObject = {};
  const warnings: string[] = [];
  if (reduce === undefined || !isJsonObject(reduce)) return { reduced, warnings };
  const rows = contributing(tasks);
  for (const [field, op] of Object.entries(reduce)) {
    const present = rows.flatMap((task) => {
      const value = fieldOf(task.result, field);
      return value === undefined ? [] : [{ task, value }];
    });
    const numbers = (): number[] => {
      const out: number[] = [];
      const skipped: number[] = [];
      for (const { task, value } of present) {
        const n = finiteNumber(value);
        if (n === null) skipped.push(task.index);
        else out.push(n);
      }
      if (skipped.length > 0) warnings.push(`${field}: ${skipped.length} non-numeric value(s) skipped (tasks ${skipped.join(', ')})`);
      return out;
    };
    if (typeof op !== 'string') {
      warnings.push(`${field}: operator is not a string`);
      reduced[field] = null;
      continue;
    }
    if (op.startsWith('weighted_avg:')) {
      const weightField = op.slice('weighted_avg:'.length);
      let num = 0;
      let den = 0;
      const skipped: number[] = [];
      for (const { task, value } of present) {
        const v = finiteNumber(value);
        const w = finiteNumber(fieldOf(task.result, weightField));
        if (v === null || w === null || w < 0) skipped.push(task.index);
        else {
          num += v * w;
          den += w;
        }
      }
      if (skipped.length > 0) warnings.push(`${field}: ${skipped.length} value(s) without numeric "${weightField}" weight skipped (tasks ${skipped.join(', ')})`);
      reduced[field] = den > 0 ? num / den : null;
      continue;
    }
    switch (op) {
      case 'sum':
      case 'mean': {
        const list = numbers();
        const total = list.reduce((a, v) => a + v, 0);
        reduced[field] = list.length === 0 ? null : op === 'sum' ? total : total / list.length;
        break;
      }
      case 'max':
      case 'min': {
        const list = numbers();
        reduced[field] = list.length === 0 ? null : list.reduce((a, v) => (op === 'max' ? Math.max(a, v) : Math.min(a, v)));
        break;
      }
      case 'concat':
        reduced[field] = present.flatMap(({ value }) => (Array.isArray(value) ? value : [value]));
        break;
      case 'count':
        reduced[field] = present.length;
        break;
      case 'collect':
        reduced[field] = present.map(({ value }) => value);
        break;
      default:
        warnings.push(`${field}: unknown reduce operator "${op}"`);
        reduced[field] = null;
    }
  }
  return { reduced, warnings };
}
