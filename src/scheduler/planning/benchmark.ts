/**
 * benchmark planning (reference Journey 6): candidates × replicas tasks.
 *
 * Order: candidate-major in `candidates` key order, replicas 1..R within a
 * candidate (strategy_a#1, strategy_a#2, …, strategy_b#1, …).
 *
 * Payload: `shared_payload` ∪ candidate config (the candidate wins on a shared
 * key) ∪ `{_candidate, _replica}` with `_replica` 1-based — the reference's
 * `{"dataset": …, "n_trials": 100, "model": "gpt4", "temperature": 0.7, "_candidate": "strategy_a", "_replica": 1}`.
 *
 * `replica_vary: {field, stride}`: `field` = base + (replica − 1) × stride,
 * where base is the field's value in the merged shared/candidate payload
 * (which must then be a number) or 0 when absent. Replica 1 keeps the base.
 */
import type { JsonObject, JsonValue } from '../../shared/json.js';
import { checkRankBy, failed, isJsonObject, isSafeInt, kindOf, unknownKeys, type PlanError, type PlanOutcome, type TaskMeta } from './types.js';

export const MIN_CANDIDATES = 2;
export const MAX_REPLICAS = 100;

export function validateBenchmark(spec: JsonObject): PlanError[] {
  const errors: PlanError[] = [];
  const candidates = spec.candidates;
  const shared = spec.shared_payload;
  if (shared !== undefined && !isJsonObject(shared)) errors.push({ field: 'shared_payload', message: `must be an object (got ${kindOf(shared)})` });
  if (candidates === undefined) errors.push({ field: 'candidates', message: `required: a map of at least ${MIN_CANDIDATES} named candidate configs` });
  else if (!isJsonObject(candidates)) errors.push({ field: 'candidates', message: `must be an object mapping names to configs (got ${kindOf(candidates)})` });
  else {
    const names = Object.keys(candidates);
    if (names.length < MIN_CANDIDATES) errors.push({ field: 'candidates', message: `needs at least ${MIN_CANDIDATES} candidates (got ${names.length})` });
    for (const name of names) {
      if (!isJsonObject(candidates[name])) errors.push({ field: `candidates.${name}`, message: `must be a config object (got ${kindOf(candidates[name])})` });
    }
  }
  const replicas = spec.replicas;
  if (replicas !== undefined && (!isSafeInt(replicas) || replicas < 1 || replicas > MAX_REPLICAS)) {
    errors.push({ field: 'replicas', message: `must be an integer from 1 to ${MAX_REPLICAS} (got ${JSON.stringify(replicas)})` });
  }
  const vary = spec.replica_vary;
  if (vary !== undefined) {
    if (!isJsonObject(vary)) errors.push({ field: 'replica_vary', message: `must be {field, stride} (got ${kindOf(vary)})` });
    else {
      unknownKeys(vary, ['field', 'stride'], 'replica_vary', errors);
      const field = vary.field;
      if (typeof field !== 'string' || field === '') errors.push({ field: 'replica_vary.field', message: `must name a payload field (got ${JSON.stringify(field)})` });
      if (typeof vary.stride !== 'number') errors.push({ field: 'replica_vary.stride', message: `must be a number (got ${vary.stride === undefined ? 'missing' : JSON.stringify(vary.stride)})` });
      if (typeof field === 'string' && field !== '' && isJsonObject(candidates)) {
        const sharedObj = isJsonObject(shared) ? shared : {};
        for (const name of Object.keys(candidates)) {
          const config = candidates[name];
          const base = isJsonObject(config) && Object.hasOwn(config, field) ? config[field] : sharedObj[field];
          if (base !== undefined && typeof base !== 'number') {
            const where = isJsonObject(config) && Object.hasOwn(config, field) ? `candidates.${name}.${field}` : `shared_payload.${field}`;
            errors.push({ field: 'replica_vary.field', message: `${where} is ${kindOf(base)}; the varied field must be a number or absent` });
            break;
          }
        }
      }
    }
  }
  checkRankBy(spec, errors);
  return errors;
}

export function planBenchmark(spec: JsonObject): PlanOutcome {
  const errors = validateBenchmark(spec);
  if (errors.length > 0) return failed(errors);
  const candidates = spec.candidates as JsonObject;
  const shared: JsonObject = isJsonObject(spec.shared_payload) ? spec.shared_payload : {};
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const vary = isJsonObject(spec.replica_vary) ? { field: spec.replica_vary.field as string, stride: spec.replica_vary.stride as number } : undefined;

  const payloads: JsonValue[] = [];
  const tasks: TaskMeta[] = [];
  for (const candidate of Object.keys(candidates)) {
    const merged: JsonObject = { ...shared, ...(candidates[candidate] as JsonObject) };
    for (let replica = 1; replica <= replicas; replica++) {
      const varied: JsonObject = vary === undefined ? {} : { [vary.field]: ((merged[vary.field] as number | undefined) ?? 0) + (replica - 1) * vary.stride };
      payloads.push({ ...merged, ...varied, _candidate: candidate, _replica: replica });
      tasks.push({ candidate, replica });
    }
  }
  return { ok: true, payloads, tasks };
}
