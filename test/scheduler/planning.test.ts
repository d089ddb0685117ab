/**
 * Task planners for every job type: the reference's journey bodies map to
 * exactly the documented payloads (key order included), and every malformed
 * planning field yields a precise, machine-readable error.
 */
import t, { type Test } from 'tap';
import type { JsonObject, JsonValue } from '../../src/shared/json.js';
import { planTasks, validateJobPlan, type PlanError, type PlanOutcome } from '../../src/scheduler/plan-tasks.js';
import { planFanOut } from '../../src/scheduler/planning/fan-out.js';
import { planSweep } from '../../src/scheduler/planning/sweep.js';
import { planMapReduce } from '../../src/scheduler/planning/map-reduce.js';
import { planBenchmark } from '../../src/scheduler/planning/benchmark.js';
import { journey3, journey6, journey7, journey7Ranges, optionA, optionB, optionC } from '../fixtures/reference-jobs.js';

type Ok = Extract<PlanOutcome, { ok: true }>;

function ok(outcome: PlanOutcome): Ok {
  if (!outcome.ok) throw new Error(`expected a plan, got: ${outcome.error}`);
  return outcome;
}

/** Field-by-field AND key order: compare the serialised forms. */
function sameJson(t: Test, actual: unknown, expected: unknown, msg = 'same JSON'): void {
  t.equal(JSON.stringify(actual), JSON.stringify(expected), msg);
}

function errorsOf(jobType: string, spec: JsonObject): PlanError[] {
  const errors = validateJobPlan(jobType, spec);
  const outcome = planTasks(jobType, spec);
  if (outcome.ok) throw new Error('planTasks accepted a spec validateJobPlan rejected');
  if (errors.length > 0) {
    // The planner reports the same list, plus a one-line form for the job record.
    if (JSON.stringify(outcome.errors) !== JSON.stringify(errors)) throw new Error('planTasks and validateJobPlan disagree');
    if (outcome.error !== errors.map((e) => `${e.field}: ${e.message}`).join('; ')) throw new Error('error line mismatch');
  }
  return errors;
}

/** Asserts exactly one error on `field` whose message matches `pattern`. */
function oneError(t: Test, jobType: string, spec: JsonObject, field: string, pattern: RegExp): void {
  const errors = errorsOf(jobType, spec);
  t.equal(errors.length, 1, `one error for ${field}: ${JSON.stringify(errors)}`);
  t.equal(errors[0]?.field, field);
  t.match(errors[0]?.message, pattern);
}

// ---------------------------------------------------------------- structured_runner

t.test('structured_runner without fan_out: one task, the payload', async (t) => {
  const plan = ok(planTasks('structured_runner', { payload: { a: 1 } }));
  sameJson(t, plan.payloads, [{ a: 1 }]);
  sameJson(t, ok(planTasks('structured_runner', {})).payloads, [{}], 'no payload → {}');
  sameJson(t, ok(planTasks('structured_runner', { payload: { a: 1 }, fan_out: null })).payloads, [{ a: 1 }], 'null fan_out is no fan-out');
  t.same(validateJobPlan('structured_runner', { payload: { a: 1 } }), []);
});

t.test('Option A: fan_out.by → one task per item, the field replaced by ONE item', async (t) => {
  const plan = ok(planTasks('structured_runner', optionA));
  t.equal(plan.payloads.length, 4, 'creates 4 tasks');
  sameJson(t, plan.payloads[0], { models: 'model-a', config: { n_trials: 100 } }, 'the reference example, key order included');
  sameJson(t, plan.payloads.map((p) => (p as JsonObject).models), ['model-a', 'model-b', 'model-c', 'model-d']);
  sameJson(t, plan.tasks?.map((m) => m.key) ?? [], ['model-a', 'model-b', 'model-c', 'model-d'], 'keys for the keyed merge');
  t.same(validateJobPlan('structured_runner', optionA), []);
  sameJson(t, optionA.payload.models, ['model-a', 'model-b', 'model-c', 'model-d'], 'the spec is not mutated');
});

t.test('Option A with batch_size 2 (the reference body): sub-lists plus _batch', async (t) => {
  const plan = ok(planTasks('structured_runner', { ...optionA, fan_out: { by: 'models', batch_size: 2 } }));
  t.equal(plan.payloads.length, 2);
  sameJson(t, plan.payloads, [
    { models: ['model-a', 'model-b'], config: { n_trials: 100 }, _batch: { index: 0, size: 2, start: 0, count: 2, total_items: 4, total_batches: 2 } },
    { models: ['model-c', 'model-d'], config: { n_trials: 100 }, _batch: { index: 1, size: 2, start: 2, count: 2, total_items: 4, total_batches: 2 } },
  ]);
  sameJson(t, plan.tasks ?? [], [
    { keys: ['model-a', 'model-b'], batch: { index: 0, start: 0, count: 2 } },
    { keys: ['model-c', 'model-d'], batch: { index: 1, start: 2, count: 2 } },
  ]);
});

t.test('fan_out.by batching: short last batch, batch_per_task alias, batch_size 1, batch larger than the list', async (t) => {
  const payload = { xs: [1, 2, 3, 4, 5], k: 'v' };
  const three = ok(planTasks('structured_runner', { payload, fan_out: { by: 'xs', batch_per_task: 3 } }));
  sameJson(t, three.payloads, [
    { xs: [1, 2, 3], k: 'v', _batch: { index: 0, size: 3, start: 0, count: 3, total_items: 5, total_batches: 2 } },
    { xs: [4, 5], k: 'v', _batch: { index: 1, size: 3, start: 3, count: 2, total_items: 5, total_batches: 2 } },
  ]);
  const one = ok(planTasks('structured_runner', { payload, fan_out: { by: 'xs', batch_size: 1 } }));
  t.equal(one.payloads.length, 5, 'an explicit batch_size 1 still batches');
  sameJson(t, one.payloads[4], { xs: [5], k: 'v', _batch: { index: 4, size: 1, start: 4, count: 1, total_items: 5, total_batches: 5 } });
  const big = ok(planTasks('structured_runner', { payload, fan_out: { by: 'xs', batch_size: 100 } }));
  sameJson(t, big.payloads, [{ xs: [1, 2, 3, 4, 5], k: 'v', _batch: { index: 0, size: 100, start: 0, count: 5, total_items: 5, total_batches: 1 } }]);
  const same = ok(planTasks('structured_runner', { payload, fan_out: { by: 'xs', batch_size: 2, batch_per_task: 2 } }));
  t.equal(same.payloads.length, 3, 'both aliases given with the same value');
});

t.test('fan_out.by keys of non-string items', async (t) => {
  const plan = ok(planTasks('structured_runner', { payload: { xs: [1, true, { a: 1 }, [2], null] }, fan_out: { by: 'xs' } }));
  sameJson(t, plan.tasks?.map((m) => m.key) ?? [], ['1', 'true', '{"a":1}', '[2]', 'null']);
  sameJson(t, plan.payloads[2], { xs: { a: 1 } });
});

t.test('Option B: fan_out.items → each item verbatim', async (t) => {
  const plan = ok(planTasks('structured_runner', optionB));
  t.equal(plan.payloads.length, 3, 'creates 3 tasks');
  sameJson(t, plan.payloads, optionB.fan_out.items);
  const withPayload = ok(planTasks('structured_runner', { ...optionB, payload: { generation: 99, extra: true } }));
  sameJson(t, withPayload.payloads, optionB.fan_out.items, 'the job payload is not merged into explicit items');
});

t.test('Option B batched: {items: [...], _batch}', async (t) => {
  const plan = ok(planTasks('structured_runner', { ...optionB, fan_out: { ...optionB.fan_out, batch_size: 2 } }));
  sameJson(t, plan.payloads, [
    { items: optionB.fan_out.items.slice(0, 2), _batch: { index: 0, size: 2, start: 0, count: 2, total_items: 3, total_batches: 2 } },
    { items: optionB.fan_out.items.slice(2), _batch: { index: 1, size: 2, start: 2, count: 1, total_items: 3, total_batches: 2 } },
  ]);
  sameJson(t, plan.tasks ?? [], [{ batch: { index: 0, start: 0, count: 2 } }, { batch: { index: 1, start: 2, count: 1 } }]);
});

t.test('Option C: 20 chunks of 10000 → payload ∪ {start, count}', async (t) => {
  const plan = ok(planTasks('structured_runner', optionC));
  t.equal(plan.payloads.length, 20, 'creates 20 tasks');
  sameJson(t, plan.payloads[0], { total_seeds: 10000, start: 0, count: 500 });
  sameJson(t, plan.payloads[1], { total_seeds: 10000, start: 500, count: 500 });
  sameJson(t, plan.payloads[19], { total_seeds: 10000, start: 9500, count: 500 });
  sameJson(t, plan.tasks?.[3], { range: { start: 1500, count: 500 } });
});

t.test('chunks with a remainder: counts differ by at most one, contiguous, sum to total', async (t) => {
  const plan = ok(planTasks('structured_runner', { fan_out: { chunks: 3, total: 10 } }));
  sameJson(t, plan.payloads, [
    { start: 0, count: 4 },
    { start: 4, count: 3 },
    { start: 7, count: 3 },
  ]);
  const eq = ok(planTasks('structured_runner', { fan_out: { chunks: 7, total: 7 } }));
  t.ok(eq.payloads.every((p) => (p as JsonObject).count === 1), 'chunks = total → one each');
  const range = ok(planTasks('structured_runner', { payload: { start: 'x', keep: 1 }, fan_out: { chunks: 1, total: 5 } }));
  sameJson(t, range.payloads, [{ start: 0, keep: 1, count: 5 }], 'the range wins over a same-named payload key');
});

t.test('10,000 fan-out items and 10,000 chunks plan correctly', async (t) => {
  const models = Array.from({ length: 10_000 }, (_, i) => `m${i}`);
  const byPlan = ok(planTasks('structured_runner', { payload: { models, c: 1 }, fan_out: { by: 'models' }, merge_strategy: 'keyed' }));
  t.equal(byPlan.payloads.length, 10_000);
  sameJson(t, byPlan.payloads[9_999], { models: 'm9999', c: 1 });
  t.equal(new Set(byPlan.tasks?.map((m) => m.key)).size, 10_000);

  const items = models.map((m, i) => ({ m, i }));
  const batched = ok(planTasks('structured_runner', { fan_out: { items, batch_size: 64 } }));
  t.equal(batched.payloads.length, Math.ceil(10_000 / 64));
  const last = batched.payloads.at(-1) as JsonObject;
  sameJson(t, last._batch ?? null, { index: 156, size: 64, start: 9984, count: 16, total_items: 10_000, total_batches: 157 });
  t.equal(batched.payloads.reduce<number>((n, p) => n + ((p as JsonObject).items as JsonValue[]).length, 0), 10_000);

  const chunks = ok(planTasks('structured_runner', { payload: { total_seeds: 1_000_003 }, fan_out: { chunks: 10_000, total: 1_000_003 } }));
  t.equal(chunks.payloads.length, 10_000);
  let at = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const p of chunks.payloads as JsonObject[]) {
    if (p.start !== at) throw new Error(`gap at ${at}`);
    const count = p.count as number;
    at += count;
    min = Math.min(min, count);
    max = Math.max(max, count);
  }
  t.equal(at, 1_000_003, 'counts sum to total, contiguous');
  t.ok(max - min <= 1, 'counts differ by at most one');

  const mr = ok(planTasks('map_reduce', { payload: {}, split: { field: 'seed', start: 5, total: 10_000, chunks: 10_000 }, reduce: { x: 'sum' } }));
  sameJson(t, mr.payloads[9_999], { seed_start: 10_004, seed_count: 1 });
});

t.test('fan_out validation errors', async (t) => {
  const base = { payload: { models: ['a', 'b'], n: 3 } };
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'models', items: [{}] } }, 'fan_out', /mixes fan_out shapes by and items/);
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'models', chunks: 2, total: 4 } }, 'fan_out', /mixes fan_out shapes by and chunks \+ total/);
  oneError(t, 'structured_runner', { ...base, fan_out: { items: [{}], total: 4 } }, 'fan_out', /mixes fan_out shapes items and chunks \+ total/);
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'models', items: [{}], chunks: 1, total: 1 } }, 'fan_out', /by and items and chunks \+ total/);
  oneError(t, 'structured_runner', { ...base, fan_out: {} }, 'fan_out', /needs exactly one of/);
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'models', batchsize: 2 } }, 'fan_out.batchsize', /unknown field/);

  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'n' } }, 'fan_out.by', /payload\.n is a number, not an array/);
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'nope' } }, 'fan_out.by', /"nope", which the payload does not have/);
  oneError(t, 'structured_runner', { fan_out: { by: 'models' } }, 'fan_out.by', /no payload object/);
  oneError(t, 'structured_runner', { ...base, fan_out: { by: '' } }, 'fan_out.by', /must name a payload field/);
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 3 } }, 'fan_out.by', /must name a payload field/);
  oneError(t, 'structured_runner', { payload: { models: [] }, fan_out: { by: 'models' } }, 'payload.models', /is empty/);

  oneError(t, 'structured_runner', { fan_out: { items: [] } }, 'fan_out.items', /is empty/);
  oneError(t, 'structured_runner', { fan_out: { items: { a: 1 } } }, 'fan_out.items', /must be an array.*an object/);
  oneError(t, 'structured_runner', { fan_out: { items: [{}, 'x'] } }, 'fan_out.items[1]', /must be a payload object \(got a string\)/);
  const many = errorsOf('structured_runner', { fan_out: { items: Array.from({ length: 25 }, () => 1) } });
  t.equal(many.length, 11, 'ten listed, then a summary');
  t.match(many[10], { field: 'fan_out.items', message: /25 items are not payload objects/ });

  for (const [name, value] of [['batch_size', 0], ['batch_size', -1], ['batch_per_task', 0], ['batch_size', 1.5], ['batch_per_task', '2']] as const) {
    oneError(t, 'structured_runner', { ...base, fan_out: { by: 'models', [name]: value } }, `fan_out.${name}`, /must be an integer ≥ 1/);
    oneError(t, 'structured_runner', { fan_out: { items: [{}], [name]: value } }, `fan_out.${name}`, /must be an integer ≥ 1/);
  }
  oneError(t, 'structured_runner', { ...base, fan_out: { by: 'models', batch_size: 2, batch_per_task: 3 } }, 'fan_out', /aliases and disagree/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 2, total: 10, batch_size: 2 } }, 'fan_out.batch_size', /unknown field/);

  oneError(t, 'structured_runner', { fan_out: { chunks: 21, total: 20 } }, 'fan_out.chunks', /chunks \(21\) must not exceed total \(20\)/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 0, total: 20 } }, 'fan_out.chunks', /positive integer/);
  oneError(t, 'structured_runner', { fan_out: { chunks: -2, total: 20 } }, 'fan_out.chunks', /positive integer/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 2, total: 0 } }, 'fan_out.total', /positive integer/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 2.5, total: 10 } }, 'fan_out.chunks', /positive integer/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 2 } }, 'fan_out.total', /required with chunks/);
  oneError(t, 'structured_runner', { fan_out: { total: 2 } }, 'fan_out.chunks', /required with total/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 200_000, total: 1e9 } }, 'fan_out.chunks', /at most 100000/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 2, total: 4, range_field: 7 } }, 'fan_out.range_field', /non-empty string/);
  oneError(t, 'structured_runner', { fan_out: { chunks: 2, total: 4 }, payload: [] as JsonValue }, 'payload', /must be an object/);
});

t.test('merge_strategy prerequisites', async (t) => {
  oneError(t, 'structured_runner', { payload: {}, merge_strategy: 'keyed' }, 'merge_strategy', /"keyed" needs fan_out.by/);
  oneError(t, 'structured_runner', { ...optionB, merge_strategy: 'keyed' }, 'merge_strategy', /"keyed" needs fan_out.by/);
  oneError(t, 'structured_runner', { payload: { xs: ['a', 'b', 'a'] }, fan_out: { by: 'xs' }, merge_strategy: 'keyed' }, 'payload.xs', /duplicate key "a"/);
  t.same(validateJobPlan('structured_runner', { payload: { xs: ['a', 'a'] }, fan_out: { by: 'xs' } }), [], 'duplicates are fine for collect');
  const wa = errorsOf('structured_runner', { fan_out: { chunks: 2, total: 4 }, merge_strategy: 'weighted_avg', value_field: 'score' });
  t.same(wa, [{ field: 'weight_field', message: 'required (a result field name) with merge_strategy "weighted_avg"' }]);
  t.same(validateJobPlan('structured_runner', { fan_out: { chunks: 2, total: 4 }, merge_strategy: 'weighted_avg', value_field: 'v', weight_field: 'w' }), []);
  oneError(t, 'structured_runner', { merge_strategy: 'median' }, 'merge_strategy', /must be one of collect, keyed, weighted_avg/);
});

// ---------------------------------------------------------------- sweep

t.test('Journey 3: 3×3 sweep → 9 tasks, the reference payload exactly', async (t) => {
  const plan = ok(planTasks('sweep', journey3));
  t.equal(plan.payloads.length, 9, 'creates 9 tasks');
  sameJson(t, plan.payloads[0], {
    learning_rate: 0.001,
    batch_size: 32,
    dataset: 'cifar10',
    epochs: 5,
    _sweep_idx: 0,
    _sweep_params: { learning_rate: 0.001, batch_size: 32 },
  });
  sameJson(
    t,
    plan.payloads.map((p) => (p as JsonObject)._sweep_params ?? null),
    [
      { learning_rate: 0.001, batch_size: 32 },
      { learning_rate: 0.001, batch_size: 64 },
      { learning_rate: 0.001, batch_size: 128 },
      { learning_rate: 0.01, batch_size: 32 },
      { learning_rate: 0.01, batch_size: 64 },
      { learning_rate: 0.01, batch_size: 128 },
      { learning_rate: 0.1, batch_size: 32 },
      { learning_rate: 0.1, batch_size: 64 },
      { learning_rate: 0.1, batch_size: 128 },
    ],
    'first key slowest, last key fastest',
  );
  sameJson(t, plan.payloads.map((p) => (p as JsonObject)._sweep_idx ?? null), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  sameJson(t, plan.tasks?.[4], { params: { learning_rate: 0.01, batch_size: 64 } });
  sameJson(t, plan.payloads[8], { learning_rate: 0.1, batch_size: 128, dataset: 'cifar10', epochs: 5, _sweep_idx: 8, _sweep_params: { learning_rate: 0.1, batch_size: 128 } });
});

t.test('sweep edge cases: one parameter, no fixed_payload, parameter overrides fixed, three keys, exactly 1000', async (t) => {
  sameJson(t, ok(planSweep({ parameters: { x: ['a'] }, rank_by: 'r' })).payloads, [{ x: 'a', _sweep_idx: 0, _sweep_params: { x: 'a' } }]);
  sameJson(t, ok(planSweep({ parameters: { x: [1, 2] }, fixed_payload: { x: 0, y: 1 }, rank_by: 'r' })).payloads, [
    { x: 1, y: 1, _sweep_idx: 0, _sweep_params: { x: 1 } },
    { x: 2, y: 1, _sweep_idx: 1, _sweep_params: { x: 2 } },
  ]);
  const three = ok(planSweep({ parameters: { a: [1, 2], b: ['x', 'y', 'z'], c: [true, false] }, rank_by: 'r' }));
  t.equal(three.payloads.length, 12);
  sameJson(t, three.payloads[7], { a: 2, b: 'x', c: false, _sweep_idx: 7, _sweep_params: { a: 2, b: 'x', c: false } });
  const thousand = ok(planSweep({ parameters: { a: Array.from({ length: 10 }, (_, i) => i), b: Array.from({ length: 100 }, (_, i) => i) }, rank_by: 'r' }));
  t.equal(thousand.payloads.length, 1000, 'exactly 1000 combinations is allowed');
  sameJson(t, (thousand.payloads[999] as JsonObject)._sweep_params ?? null, { a: 9, b: 99 });
  const objects = ok(planSweep({ parameters: { cfg: [{ d: 1 }, [1, 2]] }, rank_by: 'r' }));
  sameJson(t, objects.payloads[1], { cfg: [1, 2], _sweep_idx: 1, _sweep_params: { cfg: [1, 2] } }, 'values can be any JSON');
});

t.test('sweep validation errors', async (t) => {
  const big = { ...journey3, parameters: { a: Array.from({ length: 11 }, (_, i) => i), b: Array.from({ length: 10 }, (_, i) => i), c: Array.from({ length: 10 }, (_, i) => i) } };
  oneError(t, 'sweep', big, 'parameters', /^1100 combinations \(11 × 10 × 10\); at most 1000 are allowed$/);
  oneError(t, 'sweep', { ...journey3, parameters: { a: Array.from({ length: 1001 }, (_, i) => i) } }, 'parameters', /^1001 combinations/);
  oneError(t, 'sweep', { ...journey3, parameters: { learning_rate: [], batch_size: [1] } }, 'parameters.learning_rate', /is empty/);
  oneError(t, 'sweep', { ...journey3, parameters: { learning_rate: 0.1 } }, 'parameters.learning_rate', /must be a list of values \(got a number\)/);
  oneError(t, 'sweep', { ...journey3, parameters: {} }, 'parameters', /at least one parameter/);
  oneError(t, 'sweep', { ...journey3, parameters: [1] as JsonValue }, 'parameters', /must be an object/);
  oneError(t, 'sweep', { rank_by: 'r' }, 'parameters', /required/);
  oneError(t, 'sweep', { ...journey3, parameters: { _sweep_idx: [1] } }, 'parameters._sweep_idx', /reserved/);
  oneError(t, 'sweep', { ...journey3, fixed_payload: 'x' }, 'fixed_payload', /must be an object/);
  const { rank_by: _omit, ...noRank } = journey3;
  oneError(t, 'sweep', noRank, 'rank_by', /required/);
  oneError(t, 'sweep', { ...journey3, rank_by: '' }, 'rank_by', /non-empty/);
  oneError(t, 'sweep', { ...journey3, rank_order: 'up' }, 'rank_order', /"asc" or "desc"/);
  const several = errorsOf('sweep', { parameters: { a: [], b: 'x' } });
  t.same(several.map((e) => e.field), ['parameters.a', 'parameters.b', 'rank_by'], 'every problem at once, in field order');
});

// ---------------------------------------------------------------- benchmark

t.test('Journey 6: 3 candidates × 3 replicas → 9 tasks, the reference payload exactly', async (t) => {
  const plan = ok(planTasks('benchmark', journey6));
  t.equal(plan.payloads.length, 9, 'creates 9 tasks');
  sameJson(t, plan.payloads[0], { dataset: 'test_set_v3', n_trials: 100, model: 'gpt4', temperature: 0.7, _candidate: 'strategy_a', _replica: 1 });
  sameJson(t, plan.payloads[8], { dataset: 'test_set_v3', n_trials: 100, model: 'random', _candidate: 'baseline', _replica: 3 });
  sameJson(
    t,
    plan.tasks ?? [],
    ['strategy_a', 'strategy_b', 'baseline'].flatMap((candidate) => [1, 2, 3].map((replica) => ({ candidate, replica }))),
    'candidate-major, replicas 1-based',
  );
  sameJson(t, plan.payloads.map((p) => `${(p as JsonObject)._candidate as string}#${(p as JsonObject)._replica as number}`), plan.tasks?.map((m) => `${m.candidate}#${m.replica}`) ?? []);
});

t.test('benchmark: replicas default 1, candidate overrides shared, replica_vary', async (t) => {
  const { replicas: _r, ...noReplicas } = journey6;
  t.equal(ok(planBenchmark(noReplicas)).payloads.length, 3, 'replicas default to 1');
  sameJson(t, ok(planBenchmark({ candidates: { a: { n: 1 }, b: {} }, shared_payload: { n: 0, m: 2 }, rank_by: 's' })).payloads, [
    { n: 1, m: 2, _candidate: 'a', _replica: 1 },
    { n: 0, m: 2, _candidate: 'b', _replica: 1 },
  ]);
  const varied = ok(planBenchmark({ ...journey6, replica_vary: { field: 'seed_base', stride: 1000 } }));
  sameJson(t, varied.payloads.slice(0, 3), [
    { dataset: 'test_set_v3', n_trials: 100, model: 'gpt4', temperature: 0.7, seed_base: 0, _candidate: 'strategy_a', _replica: 1 },
    { dataset: 'test_set_v3', n_trials: 100, model: 'gpt4', temperature: 0.7, seed_base: 1000, _candidate: 'strategy_a', _replica: 2 },
    { dataset: 'test_set_v3', n_trials: 100, model: 'gpt4', temperature: 0.7, seed_base: 2000, _candidate: 'strategy_a', _replica: 3 },
  ], 'absent base → 0 + (replica − 1) × stride');
  const based = ok(
    planBenchmark({ candidates: { a: { seed: 7 }, b: {} }, shared_payload: { seed: 100 }, replicas: 2, replica_vary: { field: 'seed', stride: -0.5 }, rank_by: 's' }),
  );
  sameJson(t, based.payloads, [
    { seed: 7, _candidate: 'a', _replica: 1 },
    { seed: 6.5, _candidate: 'a', _replica: 2 },
    { seed: 100, _candidate: 'b', _replica: 1 },
    { seed: 99.5, _candidate: 'b', _replica: 2 },
  ], 'base from the candidate, else shared_payload; the key keeps its place');
  t.equal(ok(planBenchmark({ ...journey6, replicas: 100 })).payloads.length, 300, '100 replicas allowed');
});

t.test('benchmark validation errors', async (t) => {
  oneError(t, 'benchmark', { ...journey6, candidates: { only: {} } }, 'candidates', /at least 2 candidates \(got 1\)/);
  oneError(t, 'benchmark', { ...journey6, candidates: {} }, 'candidates', /at least 2 candidates \(got 0\)/);
  const { candidates: _c, ...noCandidates } = journey6;
  oneError(t, 'benchmark', noCandidates, 'candidates', /required/);
  oneError(t, 'benchmark', { ...journey6, candidates: ['a', 'b'] }, 'candidates', /must be an object/);
  oneError(t, 'benchmark', { ...journey6, candidates: { a: {}, b: 'x' } }, 'candidates.b', /config object \(got a string\)/);
  for (const replicas of [0, 101, -1, 2.5, '3']) oneError(t, 'benchmark', { ...journey6, replicas }, 'replicas', /integer from 1 to 100/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: { field: 'seed', stride: '1000' } }, 'replica_vary.stride', /must be a number \(got "1000"\)/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: { field: 'seed' } }, 'replica_vary.stride', /must be a number \(got missing\)/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: { stride: 1 } }, 'replica_vary.field', /must name a payload field/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: { field: 's', stride: 1, step: 2 } }, 'replica_vary.step', /unknown field/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: 5 }, 'replica_vary', /must be \{field, stride\}/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: { field: 'dataset', stride: 1 } }, 'replica_vary.field', /shared_payload\.dataset is a string/);
  oneError(t, 'benchmark', { ...journey6, replica_vary: { field: 'model', stride: 1 } }, 'replica_vary.field', /candidates\.strategy_a\.model is a string/);
  oneError(t, 'benchmark', { ...journey6, shared_payload: [] as JsonValue }, 'shared_payload', /must be an object/);
  const { rank_by: _rb, ...noRank } = journey6;
  oneError(t, 'benchmark', noRank, 'rank_by', /required/);
});

// ---------------------------------------------------------------- map_reduce

t.test('Journey 7: 50 chunks → payload ∪ {seed_start, seed_count}', async (t) => {
  const plan = ok(planTasks('map_reduce', journey7));
  t.equal(plan.payloads.length, 50, 'creates 50 tasks');
  sameJson(t, plan.payloads[0], { strategy: 'momentum', seed_start: 0, seed_count: 200 });
  sameJson(t, plan.payloads[1], { strategy: 'momentum', seed_start: 200, seed_count: 200 });
  sameJson(t, plan.payloads[49], { strategy: 'momentum', seed_start: 9800, seed_count: 200 });
  sameJson(t, plan.tasks?.[49], { range: { start: 9800, count: 200 } });
});

t.test('Journey 7 explicit ranges → 3 tasks in the given order', async (t) => {
  const plan = ok(planTasks('map_reduce', journey7Ranges));
  sameJson(t, plan.payloads, [
    { strategy: 'momentum', seed_start: 860791000, seed_count: 1000 },
    { strategy: 'momentum', seed_start: 200000000, seed_count: 1000 },
    { strategy: 'momentum', seed_start: 500000000, seed_count: 1000 },
  ]);
  sameJson(t, plan.tasks ?? [], journey7Ranges.split.ranges.map((range) => ({ range })));
});

t.test('map_reduce: start offset and default, remainder, adjacent ranges, no payload', async (t) => {
  sameJson(t, ok(planMapReduce({ split: { field: 'i', start: 10, total: 5, chunks: 2 }, reduce: { n: 'count' } })).payloads, [
    { i_start: 10, i_count: 3 },
    { i_start: 13, i_count: 2 },
  ]);
  sameJson(t, ok(planMapReduce({ payload: { a: 1 }, split: { field: 'i', total: 4, chunks: 2 }, reduce: { n: 'count' } })).payloads, [
    { a: 1, i_start: 0, i_count: 2 },
    { a: 1, i_start: 2, i_count: 2 },
  ], 'start defaults to 0');
  t.equal(ok(planMapReduce({ split: { field: 'i', ranges: [{ start: 0, count: 5 }, { start: 5, count: 5 }] }, reduce: { n: 'count' } })).payloads.length, 2, 'adjacent ranges do not overlap');
  for (const op of ['sum', 'mean', 'max', 'min', 'weighted_avg:w', 'concat', 'count', 'collect']) {
    t.same(validateJobPlan('map_reduce', { ...journey7, reduce: { x: op } }), [], `operator ${op}`);
  }
});

t.test('map_reduce validation errors', async (t) => {
  oneError(t, 'map_reduce', { ...journey7, split: { field: 'seed' } }, 'split', /needs either \{start, total, chunks\} or ranges/);
  oneError(t, 'map_reduce', { ...journey7, split: { ...journey7.split, ranges: [{ start: 0, count: 1 }] } }, 'split', /mixes \{start, total, chunks\} with ranges/);
  oneError(t, 'map_reduce', { ...journey7, split: { field: 'seed', start: 0, total: 10, chunks: 11 } }, 'split.chunks', /chunks \(11\) must not exceed total \(10\)/);
  oneError(t, 'map_reduce', { ...journey7, split: { field: 'seed', start: 0, total: 10 } }, 'split.chunks', /required with total/);
  oneError(t, 'map_reduce', { ...journey7, split: { field: 'seed', start: 0, chunks: 3 } }, 'split.total', /required with chunks/);
  oneError(t, 'map_reduce', { ...journey7, split: { field: 'seed', start: 0.5, total: 10, chunks: 2 } }, 'split.start', /must be an integer/);
  oneError(t, 'map_reduce', { ...journey7, split: { field: 'seed', total: 10, chunks: 0 } }, 'split.chunks', /positive integer/);
  oneError(t, 'map_reduce', { ...journey7, split: { start: 0, total: 10, chunks: 2 } }, 'split.field', /must name the ranged quantity/);
  oneError(t, 'map_reduce', { ...journey7, split: { ...journey7.split, step: 1 } }, 'split.step', /unknown field/);
  const { split: _s, ...noSplit } = journey7;
  oneError(t, 'map_reduce', noSplit, 'split', /required/);

  const ranges = (r: JsonValue): JsonObject => ({ ...journey7Ranges, split: { field: 'seed', ranges: r } });
  oneError(t, 'map_reduce', ranges([]), 'split.ranges', /is empty/);
  oneError(t, 'map_reduce', ranges({ start: 1 }), 'split.ranges', /must be a list/);
  oneError(t, 'map_reduce', ranges([{ start: 0, count: 1 }, 3]), 'split.ranges[1]', /must be \{start, count\}/);
  oneError(t, 'map_reduce', ranges([{ start: 0, count: 0 }]), 'split.ranges[0].count', /positive integer \(got 0\)/);
  oneError(t, 'map_reduce', ranges([{ start: 0 }]), 'split.ranges[0].count', /got missing/);
  oneError(t, 'map_reduce', ranges([{ start: '0', count: 1 }]), 'split.ranges[0].start', /must be an integer/);
  oneError(t, 'map_reduce', ranges([{ start: 0, count: 1, end: 1 }]), 'split.ranges[0].end', /unknown field/);
  oneError(t, 'map_reduce', ranges([{ start: 100, count: 50 }, { start: 0, count: 10 }, { start: 120, count: 5 }]), 'split.ranges[2]', /overlaps split.ranges\[0\]/);

  oneError(t, 'map_reduce', { ...journey7, reduce: { total_pnl: 'median' } }, 'reduce.total_pnl', /unknown operator "median"; expected one of sum, mean, max, min, weighted_avg:<field>, concat, count, collect/);
  oneError(t, 'map_reduce', { ...journey7, reduce: { x: 'weighted_avg' } }, 'reduce.x', /unknown operator/);
  oneError(t, 'map_reduce', { ...journey7, reduce: { x: 'weighted_avg:' } }, 'reduce.x', /unknown operator/);
  oneError(t, 'map_reduce', { ...journey7, reduce: { x: 'SUM' } }, 'reduce.x', /unknown operator/);
  oneError(t, 'map_reduce', { ...journey7, reduce: {} }, 'reduce', /at least one/);
  const { reduce: _r, ...noReduce } = journey7;
  oneError(t, 'map_reduce', noReduce, 'reduce', /required/);
});

// ---------------------------------------------------------------- dispatch

t.test('unknown job types and direct planner entry points', async (t) => {
  t.same(validateJobPlan('pipeline', {}), [{ field: 'type', message: 'unknown job type "pipeline"; expected one of structured_runner, sweep, map_reduce, benchmark' }]);
  const outcome = planTasks('pipeline', {});
  t.equal(outcome.ok, false);
  t.match(outcome, { error: /^type: unknown job type "pipeline"/ });
  t.same(ok(planFanOut(optionA)).payloads, ok(planTasks('structured_runner', optionA)).payloads);
  t.same(validateJobPlan('structured_runner', journey7), [], 'other types\' fields are not checked by structured_runner');
});

t.test('keys that plain assignment would mishandle stay data', async (t) => {
  const params = JSON.parse('{"__proto__": [1, 2]}') as JsonObject;
  const plan = ok(planSweep({ parameters: params, rank_by: 'r' }));
  t.equal(plan.payloads.length, 2);
  const first = plan.payloads[0] as JsonObject;
  t.ok(Object.hasOwn(first, '__proto__'), 'an own property');
  t.equal(JSON.stringify(first), '{"__proto__":1,"_sweep_idx":0,"_sweep_params":{"__proto__":1}}');
});
