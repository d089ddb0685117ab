/**
 * sweep planning (reference Journey 3): one task per combination of the
 * cartesian product of `parameters` (at most 1000 combinations).
 *
 * Order: odometer order over the `parameters` keys as written — the FIRST key
 * varies slowest, the LAST fastest — so `{lr: [a, b], bs: [x, y]}` gives
 * (a,x), (a,y), (b,x), (b,y). `_sweep_idx` is the 0-based task index.
 *
 * Payload: the combination's keys first (in `parameters` order), then the
 * `fixed_payload` keys not in the combination (a parameter wins over a
 * same-named fixed field), then `_sweep_idx` and `_sweep_params` (a copy of
 * the combination) — exactly the reference example's
 * `{"learning_rate": 0.001, "batch_size": 32, "dataset": "cifar10", "epochs": 5, "_sweep_idx": 0, "_sweep_params": {…}}`.
 */
import type { JsonObject, JsonValue } from '../../shared/json.js';
import { checkRankBy, failed, isJsonObject, kindOf, put, type PlanError, type PlanOutcome, type TaskMeta } from './types.js';

export const MAX_SWEEP_COMBINATIONS = 1000;
const RESERVED = ['_sweep_idx', '_sweep_params'];

export function validateSweep(spec: JsonObject): PlanError[] {
  const errors: PlanError[] = [];
  const parameters = spec.parameters;
  if (parameters === undefined) errors.push({ field: 'parameters', message: 'required: a map of parameter name → list of values' });
  else if (!isJsonObject(parameters)) errors.push({ field: 'parameters', message: `must be an object mapping names to value lists (got ${kindOf(parameters)})` });
  else {
    const names = Object.keys(parameters);
    if (names.length === 0) errors.push({ field: 'parameters', message: 'needs at least one parameter' });
    let combinations = 1n;
    let countable = names.length > 0;
    for (const name of names) {
      const values = parameters[name];
      if (RESERVED.includes(name)) {
        errors.push({ field: `parameters.${name}`, message: 'is a reserved payload key' });
      }
      if (!Array.isArray(values)) {
        errors.push({ field: `parameters.${name}`, message: `must be a list of values (got ${kindOf(values)})` });
        countable = false;
      } else if (values.length === 0) {
        errors.push({ field: `parameters.${name}`, message: 'is empty; every parameter needs at least one value' });
        countable = false;
      } else combinations *= BigInt(values.length);
    }
    if (countable && combinations > BigInt(MAX_SWEEP_COMBINATIONS)) {
      const sizes = names.map((n) => (parameters[n] as JsonValue[]).length).join(' × ');
      errors.push({ field: 'parameters', message: `${combinations} combinations (${sizes}); at most ${MAX_SWEEP_COMBINATIONS} are allowed` });
    }
  }
  const fixed = spec.fixed_payload;
  if (fixed !== undefined && !isJsonObject(fixed)) errors.push({ field: 'fixed_payload', message: `must be an object (got ${kindOf(fixed)})` });
  checkRankBy(spec, errors);
  return errors;
}

export function planSweep(spec: JsonObject): PlanOutcome {
  const errors = validateSweep(spec);
  if (errors.length > 0) return failed(errors);
  const parameters = spec.parameters as JsonObject;
  const fixed: JsonObject = isJsonObject(spec.fixed_payload) ? spec.fixed_payload : {};
  const names = Object.keys(parameters);
  const lists = names.map((n) => parameters[n] as JsonValue[]);
  const fixedRest = Object.keys(fixed).filter((k) => !Object.hasOwn(parameters, k));
  const total = lists.reduce((n, l) => n * l.length, 1);

  const payloads: JsonValue[] = [];
  const tasks: TaskMeta[] = [];
  const digits = new Array<number>(names.length).fill(0);
  for (let idx = 0; idx < total; idx++) {
    const combination: JsonObject = {};
    names.forEach((name, i) => put(combination, name, (lists[i] as JsonValue[])[digits[i] as number] as JsonValue));
    const payload: JsonObject = { ...combination };
    for (const key of fixedRest) put(payload, key, fixed[key] as JsonValue);
    put(payload, '_sweep_idx', idx);
    put(payload, '_sweep_params', { ...combination });
    payloads.push(payload);
    tasks.push({ params: combination });
    // Advance the odometer: last parameter fastest.
    for (let i = names.length - 1; i >= 0; i--) {
      const next = (digits[i] as number) + 1;
      if (next < (lists[i] as JsonValue[]).length) {
        digits[i] = next;
        break;
      }
      digits[i] = 0;
    }
  }
  return { ok: true, payloads, tasks };
}
