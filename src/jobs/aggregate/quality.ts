import type { JsonObject, JsonValue } from '../../shared/json.js';
import { type AggregateTask, isJsonObject, isSucceeded } from './types.js';

/**
 * Result quality (reference: "Result quality", "Result Quality Validation").
 *
 * Scoring rules:
 * - Every check is worth the same; `quality = passed / total`, in [0, 1], unrounded.
 * - No checks at all → quality 1.0 (nothing to violate).
 * - Result not a JSON object (or missing) while checks exist → quality 0 and a single
 *   warning: no field of it can be checked.
 * - `required_fields`: one check per field — present with a non-null value.
 * - `field_types`: one check per field *that is present*; an absent (or null) field is
 *   the job of `required_fields`, so type and range checks skip it rather than
 *   double-penalise. Types: number (finite), integer, string, boolean, object (non-array,
 *   non-null), array.
 * - `field_ranges`: `[min, max]` inclusive, one check per present field; a `null` bound is
 *   open. A present non-numeric value fails its range check (it cannot lie in a range).
 * - Fields are top-level keys of the result object (no dotted paths).
 */

export type FieldType = 'number' | 'integer' | 'string' | 'boolean' | 'object' | 'array';
export const FIELD_TYPES: readonly FieldType[] = ['number', 'integer', 'string', 'boolean', 'object', 'array'];

export interface ResultSchema {
  required_fields: string[];
  field_types: Record<string, FieldType>;
  /** Inclusive bounds; `null` = unbounded on that side. */
  field_ranges: Record<string, [number | null, number | null]>;
}

export interface QualityScore {
  quality: number;
  warnings: string[];
}

export type QualitySummary = {
  mean_quality: number | null;
  suspect_count: number;
  suspect_task_ids: Array<string | number>;
};

/** Quality below this marks a result suspect, and its job `partial`. */
export const SUSPECT_THRESHOLD = 0.5;

export function emptySchema(): ResultSchema {
  return { required_fields: [], field_types: {}, field_ranges: {} };
}

function typeMatches(value: JsonValue, type: FieldType): boolean {
  switch (type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isJsonObject(value);
    case 'array':
      return Array.isArray(value);
  }
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function checkCount(schema: ResultSchema): number {
  return schema.required_fields.length + Object.keys(schema.field_types).length + Object.keys(schema.field_ranges).length;
}

export function scoreResult(result: JsonValue | null, schema: ResultSchema): QualityScore {
  const total = checkCount(schema);
  if (total === 0) return { quality: 1, warnings: [] };
  if (result === null || !isJsonObject(result)) {
    const what = result === null ? 'result is missing' : `result is ${describe(result)}, not an object`;
    return { quality: 0, warnings: [`${what}; ${total} check(s) failed`] };
  }
  const warnings: string[] = [];
  let counted = 0;
  let passed = 0;
  const present = (field: string): JsonValue | undefined => {
    const value = result[field];
    return value === null ? undefined : value;
  };
  for (const field of schema.required_fields) {
    counted += 1;
    if (present(field) === undefined) warnings.push(`missing required field "${field}"`);
    else passed += 1;
  }
  for (const [field, type] of Object.entries(schema.field_types)) {
    const value = present(field);
    if (value === undefined) continue;
    counted += 1;
    if (typeMatches(value, type)) passed += 1;
    else warnings.push(`field "${field}" should be ${type}, got ${describe(value)}`);
  }
  for (const [field, [min, max]] of Object.entries(schema.field_ranges)) {
    const value = present(field);
    if (value === undefined) continue;
    counted += 1;
    if (typeof value !== 'number') {
      warnings.push(`field "${field}" is ${describe(value)}, cannot check range [${String(min)}, ${String(max)}]`);
    } else if ((min !== null && value < min) || (max !== null && value > max)) {
      warnings.push(`field "${field}" = ${value} outside range [${String(min)}, ${String(max)}]`);
    } else {
      passed += 1;
    }
  }
  return { quality: counted === 0 ? 1 : passed / counted, warnings };
}

/**
 * Parses a submitted `result_schema` leniently (the gateway validates it first):
 * non-string required fields, unknown type names and malformed ranges are dropped.
 */
export function parseResultSchema(raw: JsonValue | undefined): ResultSchema {
  const schema = emptySchema();
  if (raw === undefined || !isJsonObject(raw)) return schema;
  const required = raw['required_fields'];
  if (Array.isArray(required)) {
    for (const field of required) if (typeof field === 'string' && !schema.required_fields.includes(field)) schema.required_fields.push(field);
  }
  const types = raw['field_types'];
  if (isJsonObject(types)) {
    for (const [field, type] of Object.entries(types)) {
      if (typeof type === 'string' && (FIELD_TYPES as readonly string[]).includes(type)) schema.field_types[field] = type as FieldType;
    }
  }
  const ranges = raw['field_ranges'];
  if (isJsonObject(ranges)) {
    for (const [field, range] of Object.entries(ranges)) {
      if (!Array.isArray(range) || range.length !== 2) continue;
      const [min, max] = range;
      const bound = (v: JsonValue | undefined): number | null | undefined =>
        v === null ? null : typeof v === 'number' && Number.isFinite(v) ? v : undefined;
      const lo = bound(min);
      const hi = bound(max);
      if (lo === undefined || hi === undefined) continue;
      schema.field_ranges[field] = [lo, hi];
    }
  }
  return schema;
}

/**
 * The schema a job gets without a `result_schema` (api-details §6.3):
 * - sweep / benchmark: `rank_by` required and a number;
 * - map_reduce: every `reduce` output field required (types not imposed: `concat`,
 *   `collect` and `count` accept any value);
 * - structured_runner with `merge_strategy: "weighted_avg"`: `value_field` and
 *   `weight_field` required and numbers;
 * - anything else: no checks.
 */
export function defaultSchemaFor(jobType: string, spec: JsonObject): ResultSchema {
  const schema = emptySchema();
  const require = (field: JsonValue | undefined, numeric: boolean): void => {
    if (typeof field !== 'string' || field === '') return;
    if (!schema.required_fields.includes(field)) schema.required_fields.push(field);
    if (numeric) schema.field_types[field] = 'number';
  };
  switch (jobType) {
    case 'sweep':
    case 'benchmark':
      require(spec['rank_by'], true);
      break;
    case 'map_reduce': {
      const reduce = spec['reduce'];
      if (isJsonObject(reduce)) for (const field of Object.keys(reduce)) require(field, false);
      break;
    }
    case 'structured_runner':
      if (spec['merge_strategy'] === 'weighted_avg') {
        require(spec['value_field'], true);
        require(spec['weight_field'], true);
      }
      break;
    default:
      break;
  }
  return schema;
}

/**
 * Custom over default: required fields are the union (default first); a custom type or
 * range for a field replaces the default one.
 */
export function mergeSchemas(base: ResultSchema, custom: ResultSchema): ResultSchema {
  const required = [...base.required_fields];
  for (const field of custom.required_fields) if (!required.includes(field)) required.push(field);
  return {
    required_fields: required,
    field_types: { ...base.field_types, ...custom.field_types },
    field_ranges: { ...base.field_ranges, ...custom.field_ranges },
  };
}

/** The schema a job's results are scored against: its default with `spec.result_schema` merged over. */
export function effectiveSchema(jobType: string, spec: JsonObject): ResultSchema {
  return mergeSchemas(defaultSchemaFor(jobType, spec), parseResultSchema(spec['result_schema']));
}

/**
 * `summary.quality`: mean over tasks that have a numeric quality (scored, i.e.
 * succeeded, tasks); `mean_quality` null when none has. Suspect = quality < 0.5.
 * Ids are `task_id` when the task has one, else its `index`.
 */
export function summarizeQuality(tasks: ReadonlyArray<Pick<AggregateTask, 'index' | 'task_id' | 'quality'>>): QualitySummary {
  let sum = 0;
  let n = 0;
  const suspects: Array<string | number> = [];
  for (const task of [...tasks].sort((a, b) => a.index - b.index)) {
    const q = task.quality;
    if (typeof q !== 'number' || !Number.isFinite(q)) continue;
    sum += q;
    n += 1;
    if (q < SUSPECT_THRESHOLD) suspects.push(task.task_id ?? task.index);
  }
  return { mean_quality: n === 0 ? null : sum / n, suspect_count: suspects.length, suspect_task_ids: suspects };
}

/** Scores every succeeded task lacking a quality; others keep theirs (or stay null). */
export function withQuality<T extends AggregateTask>(tasks: readonly T[], schema: ResultSchema): Array<T & { quality: number | null; warnings: string[] }> {
  return tasks.map((task) => {
    if (typeof task.quality === 'number') return { ...task, quality: task.quality, warnings: [] };
    if (!isSucceeded(task)) return { ...task, quality: null, warnings: [] };
    const score = scoreResult(task.result, schema);
    return { ...task, quality: score.quality, warnings: score.warnings };
  });
}
