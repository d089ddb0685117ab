import t, { type Test } from 'tap';
import type { JsonObject, JsonValue } from '../../src/shared/json.js';
import {
  type AggregateTask,
  aggregateJob,
  benchmarkLeaderboard,
  completenessOf,
  defaultSchemaFor,
  effectiveSchema,
  emptySchema,
  hasSuspectResults,
  keyOf,
  meanStd,
  mergeCollect,
  mergeKeyed,
  mergeSchemas,
  mergeWeightedAvg,
  parseResultSchema,
  reduceResults,
  scoreResult,
  summarizeQuality,
  sweepLeaderboard,
  weightedAlias,
} from '../../src/jobs/aggregate/index.js';

const EPS = 1e-12;

function close(t: Test, actual: JsonValue | number | null | undefined, expected: number, msg: string): void {
  t.ok(typeof actual === 'number' && Math.abs(actual - expected) < EPS, `${msg}: ${JSON.stringify(actual) ?? 'undefined'} ≈ ${expected}`);
}

function task(index: number, payload: JsonValue, result: JsonValue | null, status = 'succeeded', quality?: number | null): AggregateTask {
  return quality === undefined ? { index, status, payload, result } : { index, status, payload, result, quality };
}

function obj(value: JsonValue | undefined): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value;
}

function arr(value: JsonValue | undefined): JsonValue[] {
  if (!Array.isArray(value)) throw new Error('not an array');
  return value;
}

// ---------------------------------------------------------------- quality

t.test('scoreResult', async (t) => {
  const ref = parseResultSchema({ required_fields: ['score'], field_types: { score: 'number' }, field_ranges: { score: [0.0, 1.0] } });

  t.test('no checks → 1.0 whatever the result', async (t) => {
    t.same(scoreResult({ a: 1 }, emptySchema()), { quality: 1, warnings: [] });
    t.same(scoreResult('text', emptySchema()), { quality: 1, warnings: [] });
    t.same(scoreResult(null, emptySchema()), { quality: 1, warnings: [] });
  });

  t.test('reference schema: all three checks', async (t) => {
    t.same(scoreResult({ score: 0.5 }, ref), { quality: 1, warnings: [] });
    t.equal(scoreResult({ score: 0 }, ref).quality, 1, 'min bound inclusive');
    t.equal(scoreResult({ score: 1 }, ref).quality, 1, 'max bound inclusive');
    const over = scoreResult({ score: 1.5 }, ref);
    t.equal(over.quality, 2 / 3, 'range fails: 2 of 3');
    t.match(over.warnings, [/outside range/]);
    const wrongType = scoreResult({ score: 'high' }, ref);
    t.equal(wrongType.quality, 1 / 3, 'present, wrong type, cannot be in range: 1 of 3');
    t.equal(wrongType.warnings.length, 2);
    const missing = scoreResult({ other: 1 }, ref);
    t.equal(missing.quality, 0, 'missing: type/range skipped, required failed: 0 of 1');
    t.match(missing.warnings, [/missing required field "score"/]);
    t.equal(scoreResult({ score: null }, ref).quality, 0, 'null counts as missing');
  });

  t.test('non-object results with checks → 0', async (t) => {
    for (const value of [null, 3, 'x', true, [1, 2]] as Array<JsonValue | null>) {
      const s = scoreResult(value, ref);
      t.equal(s.quality, 0, `${JSON.stringify(value)}`);
      t.equal(s.warnings.length, 1);
    }
    t.match(scoreResult(null, ref).warnings[0], /missing/);
    t.match(scoreResult([1], ref).warnings[0], /array, not an object/);
  });

  t.test('every field type', async (t) => {
    const schema = parseResultSchema({
      field_types: { n: 'number', i: 'integer', s: 'string', b: 'boolean', o: 'object', a: 'array' },
    });
    t.same(scoreResult({ n: 1.5, i: 3, s: 's', b: false, o: {}, a: [] }, schema), { quality: 1, warnings: [] });
    const bad = scoreResult({ n: '1', i: 3.5, s: 1, b: 'true', o: [], a: {} }, schema);
    t.equal(bad.quality, 0, 'all six mismatch');
    t.equal(bad.warnings.length, 6);
    t.equal(scoreResult({ i: 2, o: null }, schema).quality, 1, 'only present fields are type-checked (i passes, o null skipped)');
    t.equal(scoreResult({}, schema).quality, 1, 'no present field: nothing counted → 1');
  });

  t.test('open bounds and mixed counts', async (t) => {
    const schema = parseResultSchema({
      required_fields: ['a', 'b', 'c', 'd'],
      field_ranges: { a: [null, 10], b: [0, null] },
    });
    // checks: 4 required (a,b present; c present; d missing) → 3 pass; ranges: a=20 fails, b=-1 fails → 3/6
    const s = scoreResult({ a: 20, b: -1, c: 'x' }, schema);
    t.equal(s.quality, 3 / 6);
    t.equal(s.warnings.length, 3);
    t.equal(scoreResult({ a: -1e9, b: 1e9, c: 0, d: 0 }, schema).quality, 1);
  });
});

t.test('parseResultSchema drops malformed entries', async (t) => {
  const s = parseResultSchema({
    required_fields: ['a', 3, 'a', 'b'],
    field_types: { a: 'number', b: 'decimal', c: 7 },
    field_ranges: { a: [0, 1], b: [0], c: ['0', 1], d: [null, 2] },
  });
  t.same(s, { required_fields: ['a', 'b'], field_types: { a: 'number' }, field_ranges: { a: [0, 1], d: [null, 2] } });
  t.same(parseResultSchema(undefined), emptySchema());
  t.same(parseResultSchema([1]), emptySchema());
});

t.test('defaultSchemaFor', async (t) => {
  t.same(defaultSchemaFor('sweep', { rank_by: 'accuracy' }), {
    required_fields: ['accuracy'],
    field_types: { accuracy: 'number' },
    field_ranges: {},
  });
  t.same(defaultSchemaFor('benchmark', { rank_by: 'score' }).field_types, { score: 'number' });
  t.same(defaultSchemaFor('map_reduce', { reduce: { total_pnl: 'sum', sharpe_ratio: 'weighted_avg:sample_count', max_drawdown: 'max' } }), {
    required_fields: ['total_pnl', 'sharpe_ratio', 'max_drawdown'],
    field_types: {},
    field_ranges: {},
  });
  t.same(defaultSchemaFor('structured_runner', { merge_strategy: 'weighted_avg', value_field: 'edge', weight_field: 'n' }), {
    required_fields: ['edge', 'n'],
    field_types: { edge: 'number', n: 'number' },
    field_ranges: {},
  });
  t.same(defaultSchemaFor('structured_runner', { merge_strategy: 'collect' }), emptySchema());
  t.same(defaultSchemaFor('structured_runner', {}), emptySchema());
  t.same(defaultSchemaFor('sweep', {}), emptySchema(), 'no rank_by → nothing to require');
  t.same(defaultSchemaFor('other', { rank_by: 'x' }), emptySchema());
});

t.test('custom result_schema merged over the default', async (t) => {
  const merged = mergeSchemas(
    { required_fields: ['accuracy'], field_types: { accuracy: 'number' }, field_ranges: {} },
    { required_fields: ['loss', 'accuracy'], field_types: { accuracy: 'integer', loss: 'number' }, field_ranges: { accuracy: [0, 1] } },
  );
  t.same(merged, {
    required_fields: ['accuracy', 'loss'],
    field_types: { accuracy: 'integer', loss: 'number' },
    field_ranges: { accuracy: [0, 1] },
  });
  const eff = effectiveSchema('sweep', { rank_by: 'accuracy', result_schema: { field_ranges: { accuracy: [0, 1] } } });
  t.same(eff, { required_fields: ['accuracy'], field_types: { accuracy: 'number' }, field_ranges: { accuracy: [0, 1] } });
  t.equal(scoreResult({ accuracy: 1.2 }, eff).quality, 2 / 3);
});

t.test('summarizeQuality', async (t) => {
  t.same(summarizeQuality([]), { mean_quality: null, suspect_count: 0, suspect_task_ids: [] });
  const s = summarizeQuality([
    { index: 2, quality: 0.4, task_id: 'tsk_c' },
    { index: 0, quality: 1 },
    { index: 1, quality: 0.5 },
    { index: 3, quality: null },
    { index: 4, quality: 0 },
  ]);
  // (0.4 + 1 + 0.5 + 0) / 4 = 0.475; 0.5 is not suspect (strictly below)
  close(t, s.mean_quality, 0.475, 'mean over tasks with quality');
  t.equal(s.suspect_count, 2);
  t.same(s.suspect_task_ids, ['tsk_c', 4], 'task_id when known, else index; in index order');
  t.equal(hasSuspectResults([{ index: 0, quality: 0.49 }]), true);
  t.equal(hasSuspectResults([{ index: 0, quality: 0.5 }]), false);
});

// ---------------------------------------------------------------- merge

t.test('collect', async (t) => {
  const tasks = [task(2, {}, { v: 2 }), task(0, {}, { v: 0 }), task(1, {}, null, 'failed'), task(3, {}, null), task(4, {}, 'x', 'running')];
  t.same(mergeCollect(tasks), [{ v: 0 }, { v: 2 }], 'task order, failed/pending/result-less excluded');
  t.same(mergeCollect([]), []);
});

t.test('keyed', async (t) => {
  t.equal(keyOf('a'), 'a');
  t.equal(keyOf(3), '3');
  t.equal(keyOf(true), 'true');
  t.equal(keyOf(null), 'null');
  t.equal(keyOf({ x: 1 }), '{"x":1}');
  t.equal(keyOf([1, 2]), '[1,2]');

  t.test('one item per task', async (t) => {
    const tasks = [
      task(1, { symbol: 'MSFT', d: 1 }, { pnl: 2 }),
      task(0, { symbol: 'AAPL', d: 1 }, { pnl: 1 }),
      task(2, { symbol: 'GOOG' }, null, 'failed'),
      task(3, { symbol: 7 }, { pnl: 7 }),
      task(4, { symbol: 'AAPL' }, { pnl: 99 }),
      task(5, { other: 1 }, { pnl: 5 }),
    ];
    const out = mergeKeyed(tasks, { by: 'symbol' });
    t.same(out.results, { AAPL: { pnl: 1 }, MSFT: { pnl: 2 }, '7': { pnl: 7 } });
    t.same(Object.keys(out.results), ['7', 'AAPL', 'MSFT'], 'JS object order: integer-like keys first, then insertion (task) order');
    t.match(out.warnings, [/task 4: duplicate key "AAPL"/, /task 5: payload has no "symbol"/]);
  });

  t.test('batched: aligned list and keyed object', async (t) => {
    const fanOut = { by: 'symbol', batch_size: 2 };
    const tasks = [
      task(0, { symbol: ['A', 'B'], _batch: { index: 0 } }, [{ pnl: 1 }, { pnl: 2 }]),
      task(1, { symbol: ['C', 'D'] }, { D: { pnl: 4 }, C: { pnl: 3 } }),
      task(2, { symbol: ['E', 'F'] }, [{ pnl: 5 }]),
      task(3, { symbol: ['G', 'H'] }, { G: 7 }),
      task(4, { symbol: ['I'] }, 42),
    ];
    const out = mergeKeyed(tasks, fanOut);
    t.same(out.results, { A: { pnl: 1 }, B: { pnl: 2 }, C: { pnl: 3 }, D: { pnl: 4 }, G: 7 });
    t.equal(out.warnings.length, 3);
    t.match(out.warnings, [/task 2: batch result has 1 entries for 2 items/, /task 3: batch result has no entry for "H"/, /task 4: batch result is neither/]);
  });

  t.test('_batch marker alone marks batching; unbatched list item is one key', async (t) => {
    const marked = mergeKeyed([task(0, { xs: [1, 2], _batch: {} }, ['a', 'b'])], { by: 'xs' });
    t.same(marked.results, { '1': 'a', '2': 'b' });
    const plain = mergeKeyed([task(0, { xs: [1, 2] }, 'ab')], { by: 'xs' });
    t.same(plain.results, { '[1,2]': 'ab' });
  });

  t.test('no fan_out.by', async (t) => {
    const out = mergeKeyed([task(0, { a: 1 }, 1)], {});
    t.same(out.results, {});
    t.match(out.warnings, [/needs fan_out.by/]);
  });
});

t.test('weighted_avg', async (t) => {
  t.equal(weightedAlias('edge'), 'avg_edge');
  t.equal(weightedAlias('avg_edge'), 'avg_edge', 'no doubled prefix');

  const spec = { merge_strategy: 'weighted_avg', value_field: 'edge', weight_field: 'n' };
  t.test('hand-computed mean and coverage', async (t) => {
    const tasks = [
      task(0, { n: 100 }, { edge: 0.1, n: 100 }),
      task(1, { n: 300 }, { edge: 0.3, n: 300 }),
      task(2, { n: 50 }, { edge: 'bad', n: 50 }),
      task(3, { n: 200 }, null, 'failed'),
      task(4, { n: 400 }, null, 'running'),
      task(5, { n: 10 }, { edge: 5, n: -1 }),
    ];
    const w = mergeWeightedAvg(tasks, spec);
    // (0.1*100 + 0.3*300) / 400 = (10 + 90) / 400 = 0.25
    close(t, w.value, 0.25, 'value');
    t.equal(w.alias, 'avg_edge');
    t.equal(w.completed_weight, 400);
    t.equal(w.pending_weight, 400);
    t.equal(w.expected_weight, 100 + 300 + 50 + 200 + 400 + 10, 'plan weights known from every payload');
    t.equal(w.contributing_tasks, 2);
    t.equal(w.warnings.length, 2);
  });

  t.test('expected weight: explicit, else completed + pending', async (t) => {
    const tasks = [task(0, {}, { edge: 2, n: 1 }), task(1, {}, { edge: 4, n: 3 }), task(2, { n: 5 }, null, 'queued')];
    const w = mergeWeightedAvg(tasks, spec);
    close(t, w.value, (2 * 1 + 4 * 3) / 4, 'value 3.5');
    t.equal(w.completed_weight, 4);
    t.equal(w.pending_weight, 5);
    t.equal(w.expected_weight, 9, 'not every payload has a weight → completed + pending');
    t.equal(mergeWeightedAvg(tasks, { ...spec, expected_weight: 20 }).expected_weight, 20);
  });

  t.test('empty and zero weights', async (t) => {
    const none = mergeWeightedAvg([], spec);
    t.same({ v: none.value, e: none.expected_weight, c: none.completed_weight, p: none.pending_weight }, { v: null, e: 0, c: 0, p: 0 });
    t.equal(mergeWeightedAvg([task(0, {}, { edge: 1, n: 0 })], spec).value, null, 'Σw = 0 → null');
    t.match(mergeWeightedAvg([], {}).warnings, [/needs value_field and weight_field/]);
  });
});

// ---------------------------------------------------------------- sweep

function sweepTask(idx: number, lr: number, bs: number, result: JsonValue | null, status = 'succeeded'): AggregateTask {
  return task(
    idx,
    { learning_rate: lr, batch_size: bs, dataset: 'cifar10', epochs: 5, _sweep_idx: idx, _sweep_params: { learning_rate: lr, batch_size: bs } },
    result,
    status,
  );
}

t.test('sweep leaderboard', async (t) => {
  const spec = { type: 'sweep', rank_by: 'accuracy', rank_order: 'desc', fixed_payload: { dataset: 'cifar10', epochs: 5 } };

  t.test('reference example shape', async (t) => {
    const board = sweepLeaderboard([sweepTask(2, 0.001, 128, { accuracy: 0.92 }), sweepTask(4, 0.01, 64, { accuracy: 0.95 })], spec);
    t.strictSame(JSON.parse(JSON.stringify(board)), {
      results: [
        { params: { learning_rate: 0.01, batch_size: 64 }, result: { accuracy: 0.95 }, rank: 1 },
        { params: { learning_rate: 0.001, batch_size: 128 }, result: { accuracy: 0.92 }, rank: 2 },
      ],
      best: { params: { learning_rate: 0.01, batch_size: 64 }, result: { accuracy: 0.95 }, rank: 1 },
    });
  });

  t.test('ties, asc, unranked last, failed excluded', async (t) => {
    const tasks = [
      sweepTask(5, 0.1, 32, { accuracy: 0.8 }),
      sweepTask(1, 0.1, 64, { accuracy: 0.8 }),
      sweepTask(0, 0.001, 32, { accuracy: 0.9 }),
      sweepTask(3, 0.01, 32, { loss: 1 }),
      sweepTask(2, 0.01, 64, { accuracy: '0.99' }),
      sweepTask(6, 0.1, 128, null, 'failed'),
      sweepTask(7, 0.5, 128, { accuracy: 0.1 }, 'timed_out'),
    ];
    const desc = sweepLeaderboard(tasks, spec);
    t.same(
      desc.results.map((r) => [r.params['batch_size'], r.rank]),
      [
        [32, 1], // idx 0, 0.9
        [64, 2], // idx 1, 0.8 (tie, lower _sweep_idx first)
        [32, 3], // idx 5, 0.8
        [64, null], // idx 2, string accuracy
        [32, null], // idx 3, missing
      ],
    );
    t.same(desc.results.map((r) => r.params['learning_rate']), [0.001, 0.1, 0.1, 0.01, 0.01]);
    t.equal(desc.best?.rank, 1);
    t.same(desc.best?.result, { accuracy: 0.9 });

    const asc = sweepLeaderboard(tasks, { ...spec, rank_order: 'asc' });
    t.same(asc.results.map((r) => [r.result, r.rank]), [
      [{ accuracy: 0.8 }, 1],
      [{ accuracy: 0.8 }, 2],
      [{ accuracy: 0.9 }, 3],
      [{ accuracy: '0.99' }, null],
      [{ loss: 1 }, null],
    ]);
    t.same(asc.results[0]?.params, { learning_rate: 0.1, batch_size: 64 }, 'tie in asc still by _sweep_idx');
  });

  t.test('params fallback without _sweep_params', async (t) => {
    const board = sweepLeaderboard([task(0, { lr: 1, dataset: 'cifar10', _sweep_idx: 0 }, { accuracy: 1 })], spec);
    t.same(board.results[0]?.params, { lr: 1 });
  });

  t.test('empty or nothing ranked → best null', async (t) => {
    t.same(sweepLeaderboard([], spec), { results: [], best: null });
    const b = sweepLeaderboard([sweepTask(0, 1, 1, { nope: 1 })], spec);
    t.equal(b.best, null);
    t.equal(b.results[0]?.rank, null);
  });
});

// ---------------------------------------------------------------- benchmark

t.test('meanStd (sample std)', async (t) => {
  t.equal(meanStd([]), null);
  t.same(meanStd([4]), { mean: 4, std: 0 });
  const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  // mean 5; Σ(x-5)² = 9+1+1+1+0+0+4+16 = 32; sample var 32/7
  close(t, s?.mean, 5, 'mean');
  close(t, s?.std, Math.sqrt(32 / 7), 'std');
});

function benchTask(index: number, candidate: string, replica: number, result: JsonValue | null, status = 'succeeded'): AggregateTask {
  return task(index, { dataset: 'test_set_v3', n_trials: 100, _candidate: candidate, _replica: replica }, result, status);
}

t.test('benchmark leaderboard', async (t) => {
  const spec = {
    type: 'benchmark',
    candidates: { strategy_a: { model: 'gpt4' }, strategy_b: { model: 'claude' }, baseline: { model: 'random' } },
    replicas: 3,
    rank_by: 'score',
  };

  t.test('reference example, field by field', async (t) => {
    const scores: Record<string, number[]> = { baseline: [0.45, 0.5, 0.55], strategy_a: [0.89, 0.92, 0.95], strategy_b: [0.83, 0.85, 0.87] };
    const tasks: AggregateTask[] = [];
    let i = 0;
    for (const [name, list] of Object.entries(scores)) list.forEach((score, r) => tasks.push(benchTask(i++, name, r + 1, { score })));
    const board = benchmarkLeaderboard(tasks, spec);
    const expected = [
      { candidate: 'strategy_a', mean: 0.92, std: 0.03, min: 0.89, max: 0.95, count: 3, rank: 1 },
      { candidate: 'strategy_b', mean: 0.85, std: 0.02, min: 0.83, max: 0.87, count: 3, rank: 2 },
      { candidate: 'baseline', mean: 0.5, std: 0.05, min: 0.45, max: 0.55, count: 3, rank: 3 },
    ];
    t.equal(board.length, 3);
    expected.forEach((want, k) => {
      const got = board[k];
      t.ok(got, `row ${k}`);
      if (got === undefined) return;
      t.equal(got.candidate, want.candidate);
      t.equal(got.count, want.count);
      t.equal(got.rank, want.rank);
      t.equal(got.min, want.min);
      t.equal(got.max, want.max);
      // the example's numbers are rounded to 2 decimals
      t.ok(Math.abs((got.mean ?? NaN) - want.mean) < 1e-9, `${want.candidate} mean`);
      t.ok(Math.abs((got.std ?? NaN) - want.std) < 1e-9, `${want.candidate} std ${got.std} (sample)`);
      t.same(Object.keys(got), ['candidate', 'mean', 'std', 'min', 'max', 'count', 'rank']);
    });
  });

  t.test('failed replicas, non-numeric, missing candidate, asc, ties', async (t) => {
    const tasks = [
      benchTask(0, 'strategy_a', 1, { score: 1 }),
      benchTask(1, 'strategy_a', 2, { score: 3 }),
      benchTask(2, 'strategy_a', 3, null, 'failed'),
      benchTask(3, 'strategy_b', 1, { score: 2 }),
      benchTask(4, 'strategy_b', 2, { score: 'x' }),
      benchTask(5, 'extra', 1, { score: 0.5 }),
      task(6, { _replica: 1 }, { score: 100 }),
    ];
    const board = benchmarkLeaderboard(tasks, { ...spec, rank_order: 'asc' });
    t.same(board, [
      { candidate: 'extra', mean: 0.5, std: 0, min: 0.5, max: 0.5, count: 1, rank: 1 },
      // strategy_a mean 2 ties strategy_b mean 2 → declaration order
      { candidate: 'strategy_a', mean: 2, std: Math.sqrt(2), min: 1, max: 3, count: 2, rank: 2 },
      { candidate: 'strategy_b', mean: 2, std: 0, min: 2, max: 2, count: 1, rank: 3 },
      { candidate: 'baseline', mean: null, std: null, min: null, max: null, count: 0, rank: null },
    ]);
  });

  t.test('empty', async (t) => {
    t.same(benchmarkLeaderboard([], {}), []);
    t.same(
      benchmarkLeaderboard([], spec).map((r) => [r.candidate, r.rank, r.count]),
      [
        ['strategy_a', null, 0],
        ['strategy_b', null, 0],
        ['baseline', null, 0],
      ],
    );
  });
});

// ---------------------------------------------------------------- map_reduce

t.test('reduceResults', async (t) => {
  t.test('reference reduced shape, hand-computed', async (t) => {
    const reduce = { total_pnl: 'sum', sharpe_ratio: 'weighted_avg:sample_count', max_drawdown: 'max' };
    const tasks = [
      task(0, { seed_start: 0, seed_count: 200 }, { total_pnl: 5000.25, sharpe_ratio: 2.0, max_drawdown: 0.1, sample_count: 200 }),
      task(1, { seed_start: 200, seed_count: 200 }, { total_pnl: 10234.25, sharpe_ratio: 1.5, max_drawdown: 0.23, sample_count: 600 }),
      task(2, { seed_start: 400, seed_count: 200 }, null, 'failed'),
    ];
    const out = reduceResults(tasks, reduce);
    t.same(Object.keys(out.reduced), ['total_pnl', 'sharpe_ratio', 'max_drawdown']);
    close(t, out.reduced['total_pnl'], 15234.5, 'sum');
    // (2.0*200 + 1.5*600) / 800 = (400 + 900) / 800 = 1.625
    close(t, out.reduced['sharpe_ratio'], 1.625, 'weighted');
    t.equal(out.reduced['max_drawdown'], 0.23);
    t.same(out.warnings, []);
  });

  t.test('every operator', async (t) => {
    const tasks = [
      task(0, {}, { x: 1, tags: ['a'], w: 1, m: 'no' }),
      task(1, {}, { x: 4, tags: 'b', w: 3, m: 2 }),
      task(2, {}, { x: 'bad', tags: ['c', 'd'], w: 2 }),
      task(3, {}, { x: null, tags: [[1]] }),
      task(4, {}, 'scalar result'),
      task(5, {}, { x: 1000, w: 1000 }, 'cancelled'),
    ];
    const out = reduceResults(tasks, {
      s: 'sum',
      mean_x: 'mean',
      hi: 'max',
      lo: 'min',
      wx: 'weighted_avg:w',
      cat: 'concat',
      n: 'count',
      all: 'collect',
      bogus: 'median',
    });
    // output field names differ from result field names here on purpose: the map keys are result fields
    t.same(out.reduced, { s: null, mean_x: null, hi: null, lo: null, wx: null, cat: [], n: 0, all: [], bogus: null });

    const real = reduceResults(tasks, {
      x: 'sum',
      tags: 'concat',
      m: 'mean',
      w: 'count',
    });
    t.equal(real.reduced['x'], 5, '1 + 4; "bad" skipped, null absent, cancelled excluded');
    t.same(real.reduced['tags'], ['a', 'b', 'c', 'd', [1]], 'arrays concatenated one level, scalars appended');
    t.equal(real.reduced['m'], 2, 'mean of the numeric m only');
    t.equal(real.reduced['w'], 3);
    t.match(real.warnings, [/x: 1 non-numeric value\(s\) skipped \(tasks 2\)/, /m: 1 non-numeric value\(s\) skipped \(tasks 0\)/]);

    t.same(reduceResults(tasks, { x: 'mean' }).reduced, { x: 2.5 });
    t.same(reduceResults(tasks, { x: 'max' }).reduced, { x: 4 });
    t.same(reduceResults(tasks, { x: 'min' }).reduced, { x: 1 });
    t.same(reduceResults(tasks, { x: 'collect' }).reduced, { x: [1, 4, 'bad'] });
    t.same(reduceResults(tasks, { x: 'count' }).reduced, { x: 3 });
    // weighted: (1*1 + 4*3) / 4 = 3.25; task 2 skipped (non-numeric x)
    const w = reduceResults(tasks, { x: 'weighted_avg:w' });
    close(t, w.reduced['x'], 3.25, 'weighted_avg:w');
    t.match(w.warnings, [/x: 1 value\(s\) without numeric "w" weight skipped \(tasks 2\)/]);
    t.match(reduceResults(tasks, { x: 'median' }).warnings, [/unknown reduce operator "median"/]);
    t.match(reduceResults(tasks, { x: 3 }).warnings, [/not a string/]);
  });

  t.test('negative numbers and empty inputs', async (t) => {
    const tasks = [task(0, {}, { v: -3 }), task(1, {}, { v: -1 })];
    t.same(reduceResults(tasks, { v: 'max' }).reduced, { v: -1 });
    t.same(reduceResults(tasks, { v: 'min' }).reduced, { v: -3 });
    t.same(reduceResults([], { v: 'sum', c: 'count', l: 'collect' }).reduced, { v: null, c: 0, l: [] });
    t.same(reduceResults(tasks, undefined), { reduced: {}, warnings: [] });
  });
});

// ---------------------------------------------------------------- aggregateJob

t.test('completeness', async (t) => {
  t.same(completenessOf([]), { total_tasks: 0, succeeded_tasks: 0, missing_tasks: 0, ratio: 1 });
  t.same(completenessOf([task(0, {}, 1), task(1, {}, null, 'failed'), task(2, {}, null, 'running'), task(3, {}, 1, 'completed')]), {
    total_tasks: 4,
    succeeded_tasks: 2,
    missing_tasks: 2,
    ratio: 0.5,
  });
});

t.test('aggregateJob', async (t) => {
  t.test('sweep', async (t) => {
    const spec = { rank_by: 'accuracy' };
    const out = aggregateJob('sweep', spec, [
      sweepTask(0, 0.001, 32, { accuracy: 0.7 }),
      sweepTask(1, 0.01, 32, { accuracy: 0.95 }),
      sweepTask(2, 0.1, 32, { acc: 1 }),
      sweepTask(3, 0.1, 64, null, 'failed'),
    ]);
    t.same(out.completeness, { total_tasks: 4, succeeded_tasks: 3, missing_tasks: 1, ratio: 0.75 });
    t.same(out.aggregate_result, { params: { learning_rate: 0.01, batch_size: 32 }, result: { accuracy: 0.95 }, rank: 1 });
    t.same(out.aggregate_aliases, { best_accuracy: 0.95 });
    t.equal(arr(out.summary['results']).length, 3);
    t.same(out.summary['best'], out.aggregate_result);
    t.same(out.summary['completeness'], out.completeness);
    t.same(out.summary['aggregate_aliases'], out.aggregate_aliases);
    // default schema: accuracy required + number → task 2 scores 0 (suspect); mean (1 + 1 + 0) / 3
    const quality = obj(out.summary['quality']);
    close(t, quality['mean_quality'], 2 / 3, 'mean_quality');
    t.same(quality['suspect_task_ids'], [2]);
    t.equal(quality['suspect_count'], 1);
  });

  t.test('precomputed quality is kept', async (t) => {
    const out = aggregateJob('sweep', { rank_by: 'a' }, [task(0, {}, { a: 1 }, 'succeeded', 0.2), { ...task(1, {}, { a: 2 }), task_id: 'tsk_1', quality: 0.1 }]);
    t.same(obj(out.summary['quality']), { mean_quality: (0.2 + 0.1) / 2, suspect_count: 2, suspect_task_ids: [0, 'tsk_1'] });
  });

  t.test('benchmark', async (t) => {
    const out = aggregateJob('benchmark', { rank_by: 'score', candidates: { a: {}, b: {} } }, [
      benchTask(0, 'a', 1, { score: 1 }),
      benchTask(1, 'b', 1, { score: 2 }),
    ]);
    t.same(
      arr(out.summary['leaderboard']).map((r) => obj(r)['candidate']),
      ['b', 'a'],
    );
    t.same(out.aggregate_result, out.summary['leaderboard']);
    t.same(out.aggregate_aliases, { best_candidate: 'b' });
  });

  t.test('map_reduce with avg_edge alias', async (t) => {
    const out = aggregateJob('map_reduce', { reduce: { avg_edge: 'mean', n: 'sum' } }, [
      task(0, {}, { avg_edge: 0.2, n: 10 }),
      task(1, {}, { avg_edge: 0.4, n: 'x' }),
    ]);
    close(t, obj(out.summary['reduced'])['avg_edge'], 0.3, 'mean');
    t.equal(obj(out.summary['reduced'])['n'], 10);
    t.same(out.aggregate_aliases, out.aggregate_result);
    t.match(out.summary['aggregate_warnings'], [/n: 1 non-numeric/]);
    t.equal(obj(out.summary['quality'])['suspect_count'], 0, 'required-only default: a wrong type still passes');
  });

  t.test('structured_runner weighted fan-out', async (t) => {
    const spec = { merge_strategy: 'weighted_avg', value_field: 'edge', weight_field: 'count', fan_out: { chunks: 3, total: 30 } };
    const out = aggregateJob('structured_runner', spec, [
      task(0, { start: 0, count: 10 }, { edge: 1, count: 10 }),
      task(1, { start: 10, count: 10 }, { edge: 4, count: 20 }),
      task(2, { start: 20, count: 10 }, null, 'running'),
    ]);
    // (1*10 + 4*20) / 30 = 3
    close(t, out.aggregate_result, 3, 'aggregate_result');
    close(t, out.aggregate_aliases['avg_edge'], 3, 'alias');
    close(t, out.summary['avg_edge'], 3, 'summary alias');
    t.equal(out.summary['weight_field'], 'count');
    t.equal(out.summary['expected_weight'], 30);
    t.equal(out.summary['completed_weight'], 30);
    t.equal(out.summary['pending_weight'], 10);
    t.equal(out.summary['merge_strategy'], 'weighted_avg');
  });

  t.test('structured_runner collect (default) and keyed', async (t) => {
    const tasks = [task(1, { s: 'b' }, 2), task(0, { s: 'a' }, 1), task(2, { s: 'c' }, null, 'failed')];
    const collect = aggregateJob('structured_runner', {}, tasks);
    t.same(collect.aggregate_result, [1, 2]);
    t.equal(collect.summary['merge_strategy'], 'collect');
    t.same(collect.aggregate_aliases, {});
    t.same(obj(collect.summary['quality']), { mean_quality: 1, suspect_count: 0, suspect_task_ids: [] });
    const keyed = aggregateJob('structured_runner', { merge_strategy: 'keyed', fan_out: { by: 's' } }, tasks);
    t.same(keyed.aggregate_result, { a: 1, b: 2 });
  });

  t.test('empty job', async (t) => {
    for (const type of ['sweep', 'benchmark', 'map_reduce', 'structured_runner']) {
      const out = aggregateJob(type, { rank_by: 'x', reduce: { x: 'sum' } }, []);
      t.same(out.completeness, { total_tasks: 0, succeeded_tasks: 0, missing_tasks: 0, ratio: 1 }, type);
      t.same(obj(out.summary['quality']), { mean_quality: null, suspect_count: 0, suspect_task_ids: [] }, type);
    }
    t.equal(aggregateJob('sweep', { rank_by: 'x' }, []).aggregate_result, null);
    t.same(aggregateJob('structured_runner', {}, []).aggregate_result, []);
    t.same(aggregateJob('map_reduce', { reduce: { x: 'sum' } }, []).aggregate_result, { x: null });
  });
});
