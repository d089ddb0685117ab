/**
 * The reference's job journeys on a real agent (Redis-backed controller, one
 * `computalot agent`), with the reference's own
 * request bodies (only project names and runner scripts adapted): Journey 2
 * options B (`fan_out.items`) and C (`fan_out.chunks`), batching
 * (`batch_size` / `batch_per_task` → `payload._batch`), the weighted_avg
 * merge (alias `avg_edge`, coverage fields), Journey 5 (`depends_on`),
 * Journey 6 (benchmark with `replica_vary`) and Journey 7 (map_reduce over
 * start/total/chunks, every reduce operator). Journey 3, Journey 7 with
 * `ranges` and Journey 2 option A are in job-types.test.ts.
 *
 * Every task payload is checked field by field and every summary number
 * against values computed here from the runners' formulas — never by calling
 * the product's aggregation code.
 */
import t from 'tap';
import { createProject, expectStatus, pythonProjectFiles, startClusterPlatform, submitJob, waitForJob, type Api, type Json } from '../helpers/job-api.js';
import { waitFor } from '../helpers/wait.js';
import * as reference from '../fixtures/reference-jobs.js';

/** Journey 2 (options A, B): echoes the payload and scores it. Batches answer per item. */
const EVALUATE = `
import json, os
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
def result():
    if "_batch" in p and "models" in p:
        return {m: {"model": m, "score": len(m) + p["config"]["n_trials"]} for m in p["models"]}
    if "_batch" in p:
        return [{"score": sum(item["params"]) * item["generation"]} for item in p["items"]]
    if "params" in p:
        return {"score": sum(p["params"]) * p["generation"], "payload": p}
    if "_candidate" in p:
        base = {"gpt4": 0.89, "claude": 0.83, "random": 0.45}[p["model"]]
        spread = {"gpt4": 0.03, "claude": 0.02, "random": 0.05}[p["model"]]
        return {"score": round(base + p["seed_base"] / 1000 * spread, 6)}
    if "model_path" in p:
        return {"evaluated": p["model_path"], "accuracy": 0.9}
    return {"payload": p}
json.dump(result(), open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

/** Journey 2 option C and the weighted merge: one chunk of a seed range. */
const SIMULATE = `
import json, os, sys
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
start, count = p["start"], p["count"]
if p.get("fail_start") == start:
    print(f"chunk {start} refuses to run", file=sys.stderr)
    sys.exit(3)
json.dump({"start": start, "count": count, "seed_sum": sum(range(start, start + count)), "edge": start / 1000 + 0.25}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

/** Journey 5 step 1: takes a moment, so step 2 is seen waiting. */
const TRAIN = `
import json, os, time
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
time.sleep(1)
json.dump({"epochs": p["epochs"], "final_loss": p["lr"] * 100}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

/** Journey 7: deterministic numbers from the seed window. */
const EVALUATE_SEEDS = `
import json, os
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
s, n = p["seed_start"], p["seed_count"]
json.dump({
    "total_pnl": s / 100 + n,
    "sharpe_ratio": round(1 + s / 10000, 6),
    "max_drawdown": round(0.01 + s / 100000, 6),
    "sample_count": n,
    "avg_edge": s % 7,
    "min_pnl": s - n,
    "seeds": list(range(s, s + n)),
    "labels": f"chunk-{s}",
}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

interface ResultTask {
  task_id: string;
  index: number;
  status: string;
  payload: Json;
  result: unknown;
  result_quality: number | null;
}
interface Results {
  status: string;
  tasks: ResultTask[];
  summary: Json;
  aggregate_result: unknown;
  aggregate_aliases: Json;
  completeness: Json;
}

const close = (actual: unknown, expected: number): boolean => typeof actual === 'number' && Math.abs(actual - expected) < 1e-9;
const sum = (values: readonly number[]): number => values.reduce((a, v) => a + v, 0);
const rangeSum = (start: number, count: number): number => sum(Array.from({ length: count }, (_, i) => start + i));

async function results(api: Api, jobId: string): Promise<Results> {
  const body = await expectStatus(200, api('GET', `/api/v1/results/${jobId}`), `results of ${jobId}`);
  const tasks = (body.tasks as ResultTask[]).slice().sort((a, b) => a.index - b.index);
  return { ...(body as unknown as Results), tasks };
}

t.test('reference journeys 2, 5, 6 and 7 on a real agent', async (t) => {
  const { api } = await startClusterPlatform(t, { cpu: 4, account: 'journeys' });
  await createProject(api, 'my-ml-project', pythonProjectFiles('evaluate.py', { 'evaluate.py': EVALUATE, 'simulate.py': SIMULATE, 'train.py': TRAIN }));
  await createProject(api, 'my-proj', pythonProjectFiles('evaluate.py', { 'evaluate.py': EVALUATE }));
  await createProject(api, 'my-project', pythonProjectFiles('evaluate.py', { 'evaluate.py': EVALUATE, 'evaluate_seeds.py': EVALUATE_SEEDS }));

  // Everything is submitted first and awaited after: the agent works through one queue.
  const started = Date.now();
  const optionB = await submitJob(api, reference.optionB);
  const optionC = await submitJob(api, reference.optionC);
  // Option A's body as the reference prints it, batch_size included.
  const batchedBy = await submitJob(api, { ...reference.optionA, fan_out: { ...reference.optionA.fan_out, batch_size: 2 } });
  const batchedItems = await submitJob(api, { ...reference.optionB, fan_out: { ...reference.optionB.fan_out, batch_per_task: 2 } });
  // A weighted fan-out whose value_field `edge` is published as `avg_edge`; chunk 600 fails.
  const weighted = await submitJob(api, {
    type: 'structured_runner',
    runner_command: ['python', 'simulate.py'],
    payload: { total_seeds: 1000, fail_start: 600 },
    fan_out: { chunks: 5, range_field: 'total_seeds', total: 1000 },
    merge_strategy: 'weighted_avg',
    value_field: 'edge',
    weight_field: 'count',
    project: 'my-ml-project',
  });
  // Journey 5 step 1 without "gpu_required": true — this machine has no GPU worker, so it would only queue.
  const step1 = await submitJob(api, {
    type: 'structured_runner',
    runner_command: ['python', 'train.py'],
    payload: { epochs: 50, lr: 0.001 },
    project: 'my-ml-project',
    timeout_s: 7200,
  });
  const step2 = await submitJob(api, {
    type: 'structured_runner',
    runner_command: ['python', 'evaluate.py'],
    payload: { model_path: '/root/my-ml-project/model.pt' },
    depends_on: [step1],
    project: 'my-ml-project',
    timeout_s: 600,
  });
  // Step 1 queues behind the jobs above, so step 2 is planned long before step 1 can end.
  const step2Early = await waitFor('step 2 planned', async () => {
    const view = await expectStatus(200, api('GET', `/api/v1/jobs/${step2}`), 'read step 2');
    return view.status === 'planning' ? undefined : view;
  });
  const step1Early = await expectStatus(200, api('GET', `/api/v1/jobs/${step1}`), 'read step 1 after step 2');
  const benchmark = await submitJob(api, { ...reference.journey6, replica_vary: { field: 'seed_base', stride: 1000 } });
  const journey7 = await submitJob(api, reference.journey7);
  const everyOperator = await submitJob(api, {
    type: 'map_reduce',
    runner_command: ['python', 'evaluate_seeds.py'],
    project: 'my-project',
    payload: { strategy: 'momentum' },
    split: { field: 'seed', start: 100, total: 10, chunks: 3 },
    reduce: {
      total_pnl: 'sum',
      avg_edge: 'mean',
      max_drawdown: 'max',
      min_pnl: 'min',
      sharpe_ratio: 'weighted_avg:sample_count',
      seeds: 'concat',
      sample_count: 'count',
      labels: 'collect',
    },
  });
  const all = [optionB, optionC, batchedBy, batchedItems, weighted, step1, step2, benchmark, journey7, everyOperator];
  const finished = new Map<string, Json>();
  for (const id of all) finished.set(id, await waitForJob(api, id, 300_000, 500));
  t.comment(`${all.length} jobs, 96 tasks, terminal ${Date.now() - started} ms after the first submit`);

  t.test('Journey 2 option B: one task per explicit item, payloads verbatim', async (t) => {
    const r = await results(api, optionB);
    t.equal(r.status, 'completed');
    const items = [
      { params: [0.1, 0.5, 0.3], generation: 12 },
      { params: [0.2, 0.4, 0.6], generation: 12 },
      { params: [0.3, 0.3, 0.1], generation: 12 },
    ];
    t.equal(r.tasks.length, 3, 'creates 3 tasks, one per item');
    t.same(r.tasks.map((task) => task.payload), items, 'each task payload is its item, exactly (no job payload merged in)');
    t.same(r.aggregate_result, items.map((item) => ({ score: sum(item.params) * item.generation, payload: item })), 'collect: results in item order');
    t.equal(r.summary.merge_strategy, 'collect', 'collect is the default merge');
  });

  t.test('Journey 2 option C: chunks of total give {start, count}', async (t) => {
    const r = await results(api, optionC);
    t.equal(r.status, 'completed');
    t.equal(r.tasks.length, 20, 'creates 20 tasks');
    t.same(
      r.tasks.map((task) => task.payload),
      Array.from({ length: 20 }, (_, i) => ({ total_seeds: 10000, start: i * 500, count: 500 })),
      'task i gets {"start": 500·i, "count": 500} over the job payload',
    );
    const collected = r.aggregate_result as { start: number; count: number; seed_sum: number }[];
    t.equal(collected.length, 20, 'collect keeps all 20 results');
    t.same(collected.map((c) => c.start), Array.from({ length: 20 }, (_, i) => i * 500), 'in chunk order');
    t.equal(sum(collected.map((c) => c.seed_sum)), rangeSum(0, 10000), 'the chunks cover 0…9999 exactly once');
    t.same(r.completeness, { total_tasks: 20, succeeded_tasks: 20, missing_tasks: 0, ratio: 1 });
  });

  t.test('batch_size on fan_out.by: sub-lists with payload._batch, keyed per item', async (t) => {
    const r = await results(api, batchedBy);
    t.equal(r.status, 'completed');
    t.same(
      r.tasks.map((task) => task.payload),
      [
        { models: ['model-a', 'model-b'], config: { n_trials: 100 }, _batch: { index: 0, size: 2, start: 0, count: 2, total_items: 4, total_batches: 2 } },
        { models: ['model-c', 'model-d'], config: { n_trials: 100 }, _batch: { index: 1, size: 2, start: 2, count: 2, total_items: 4, total_batches: 2 } },
      ],
      'two tasks of two models each',
    );
    const models = ['model-a', 'model-b', 'model-c', 'model-d'];
    t.same(r.aggregate_result, Object.fromEntries(models.map((m) => [m, { model: m, score: m.length + 100 }])), 'the keyed merge splits each batch result per model');
  });

  t.test('batch_per_task on fan_out.items: {items, _batch}, the last batch short', async (t) => {
    const r = await results(api, batchedItems);
    t.equal(r.status, 'completed');
    const items = [
      { params: [0.1, 0.5, 0.3], generation: 12 },
      { params: [0.2, 0.4, 0.6], generation: 12 },
      { params: [0.3, 0.3, 0.1], generation: 12 },
    ];
    t.same(
      r.tasks.map((task) => task.payload),
      [
        { items: items.slice(0, 2), _batch: { index: 0, size: 2, start: 0, count: 2, total_items: 3, total_batches: 2 } },
        { items: items.slice(2), _batch: { index: 1, size: 2, start: 2, count: 1, total_items: 3, total_batches: 2 } },
      ],
    );
    t.same(r.aggregate_result, [items.slice(0, 2).map((i) => ({ score: sum(i.params) * i.generation })), [{ score: sum(items[2]!.params) * 12 }]], 'collect: one result per batch');
  });

  t.test('weighted_avg merge: avg_edge over the succeeded chunks, with coverage', async (t) => {
    const r = await results(api, weighted);
    t.equal(r.status, 'partial', 'one chunk failed, the others succeeded');
    t.same(
      r.tasks.map((task) => task.payload),
      [0, 200, 400, 600, 800].map((start) => ({ total_seeds: 1000, fail_start: 600, start, count: 200 })),
    );
    t.same(r.tasks.map((task) => task.status), ['succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded']);
    const succeeded = [0, 200, 400, 800];
    const expected = sum(succeeded.map((s) => (s / 1000 + 0.25) * 200)) / sum(succeeded.map(() => 200));
    t.ok(close(r.summary.avg_edge, expected), `summary.avg_edge = Σ edge·count / Σ count = ${expected} (got ${String(r.summary.avg_edge)})`);
    t.ok(close(r.aggregate_aliases.avg_edge, expected), 'aggregate_aliases.avg_edge too');
    t.ok(close(r.aggregate_result, expected), 'aggregate_result is the average');
    t.equal(r.summary.value_field, 'edge');
    t.equal(r.summary.weight_field, 'count');
    t.equal(r.summary.expected_weight, 1000, 'expected: the weight the plan hands out (5 × 200)');
    t.equal(r.summary.completed_weight, 800, 'completed: the four succeeded chunks');
    t.equal(r.summary.pending_weight, 0, 'nothing is pending any more');
    t.same(r.completeness, { total_tasks: 5, succeeded_tasks: 4, missing_tasks: 1, ratio: 0.8 });
    const job = finished.get(weighted) ?? {};
    t.match(String(job.error), /1 of 5 tasks did not succeed/, `the job error says what is missing: ${String(job.error)}`);
  });

  t.test('Journey 5: step 2 waits for step 1 and runs after it', async (t) => {
    const one = finished.get(step1) ?? {};
    const two = finished.get(step2) ?? {};
    t.equal(one.status, 'completed');
    t.equal(two.status, 'completed');
    t.same(two.depends_on, [step1]);
    if (!['completed', 'partial', 'failed', 'cancelled'].includes(String(step1Early.status))) {
      t.equal(step2Early.status, 'queued', `while step 1 was ${String(step1Early.status)}, step 2 was queued`);
      t.same(step2Early.waiting_for, [step1], 'waiting_for names step 1');
    } else {
      t.comment('step 1 finished before step 2 was read; the waiting state was not observable');
    }
    t.same(two.waiting_for, [], 'nothing is waited for once step 1 completed');
    t.ok(Date.parse(String(two.started_at)) >= Date.parse(String(one.completed_at)), `step 2 started (${String(two.started_at)}) after step 1 completed (${String(one.completed_at)})`);
    const r = await results(api, step2);
    t.same(r.aggregate_result, [{ evaluated: '/root/my-ml-project/model.pt', accuracy: 0.9 }]);
  });

  t.test('Journey 6: benchmark payloads, replica_vary and the leaderboard', async (t) => {
    const r = await results(api, benchmark);
    t.equal(r.status, 'completed');
    t.equal(r.tasks.length, 9, '3 candidates × 3 replicas');
    const configs: Record<string, Json> = {
      strategy_a: { model: 'gpt4', temperature: 0.7 },
      strategy_b: { model: 'claude', temperature: 0.5 },
      baseline: { model: 'random' },
    };
    const expectedPayloads = Object.entries(configs).flatMap(([candidate, config]) =>
      [1, 2, 3].map((replica) => ({ dataset: 'test_set_v3', n_trials: 100, ...config, seed_base: (replica - 1) * 1000, _candidate: candidate, _replica: replica })),
    );
    t.same(r.tasks.map((task) => task.payload), expectedPayloads, 'shared ∪ candidate ∪ {seed_base, _candidate, _replica}, candidate-major');
    t.same(r.tasks[0]?.payload, { dataset: 'test_set_v3', n_trials: 100, model: 'gpt4', temperature: 0.7, seed_base: 0, _candidate: 'strategy_a', _replica: 1 }, "the reference's example payload (plus seed_base)");

    // The scores the runner's formula gives, then the statistics of each candidate.
    const base: Record<string, number> = { gpt4: 0.89, claude: 0.83, random: 0.45 };
    const spread: Record<string, number> = { gpt4: 0.03, claude: 0.02, random: 0.05 };
    const scores = new Map<string, number[]>();
    for (const p of expectedPayloads) {
      const model = String((p as Json).model);
      const score = Math.round((base[model]! + (p.seed_base / 1000) * spread[model]!) * 1e6) / 1e6;
      scores.set(p._candidate, [...(scores.get(p._candidate) ?? []), score]);
    }
    const rows = [...scores.entries()].map(([candidate, list]) => {
      const mean = sum(list) / list.length;
      const std = Math.sqrt(sum(list.map((v) => (v - mean) ** 2)) / (list.length - 1));
      return { candidate, mean, std, min: Math.min(...list), max: Math.max(...list), count: list.length };
    });
    rows.sort((a, b) => b.mean - a.mean);
    const board = r.summary.leaderboard as Json[];
    t.equal(board.length, 3);
    rows.forEach((row, i) => {
      const got = board[i] ?? {};
      t.equal(got.candidate, row.candidate, `rank ${i + 1} is ${row.candidate}`);
      t.equal(got.rank, i + 1);
      t.equal(got.count, row.count);
      for (const stat of ['mean', 'std', 'min', 'max'] as const) t.ok(close(got[stat], row[stat]), `${row.candidate} ${stat} = ${row[stat]} (got ${String(got[stat])})`);
    });
    // The reference's own leaderboard numbers, which this runner reproduces.
    t.same(
      board.map((row) => [row.candidate, Number((row.mean as number).toFixed(2)), Number((row.std as number).toFixed(2))]),
      [['strategy_a', 0.92, 0.03], ['strategy_b', 0.85, 0.02], ['baseline', 0.5, 0.05]],
    );
  });

  t.test('Journey 7: start/total/chunks split, reduced values', async (t) => {
    const r = await results(api, journey7);
    t.equal(r.status, 'completed');
    t.equal(r.tasks.length, 50, 'creates 50 tasks');
    t.same(r.tasks[0]?.payload, { strategy: 'momentum', seed_start: 0, seed_count: 200 }, "the reference's first payload");
    t.same(r.tasks.map((task) => task.payload), Array.from({ length: 50 }, (_, i) => ({ strategy: 'momentum', seed_start: i * 200, seed_count: 200 })));
    const starts = Array.from({ length: 50 }, (_, i) => i * 200);
    const reduced = r.summary.reduced as Json;
    t.ok(close(reduced.total_pnl, sum(starts.map((s) => s / 100 + 200))), `total_pnl sum (got ${String(reduced.total_pnl)})`);
    const sharpe = starts.map((s) => Math.round((1 + s / 10000) * 1e6) / 1e6);
    t.ok(close(reduced.sharpe_ratio, sum(sharpe.map((v) => v * 200)) / (200 * 50)), `sharpe_ratio weighted by sample_count (got ${String(reduced.sharpe_ratio)})`);
    t.ok(close(reduced.max_drawdown, Math.round((0.01 + 9800 / 100000) * 1e6) / 1e6), `max_drawdown max (got ${String(reduced.max_drawdown)})`);
    t.same(r.aggregate_result, reduced, 'aggregate_result is the reduction');
  });

  t.test('map_reduce: every reduce operator over an uneven split', async (t) => {
    const r = await results(api, everyOperator);
    t.equal(r.status, 'completed');
    const windows = [
      { start: 100, count: 4 },
      { start: 104, count: 3 },
      { start: 107, count: 3 },
    ];
    t.same(r.tasks.map((task) => task.payload), windows.map((w) => ({ strategy: 'momentum', seed_start: w.start, seed_count: w.count })), '10 seeds in 3 chunks: 4, 3, 3');
    const reduced = r.summary.reduced as Json;
    t.ok(close(reduced.total_pnl, sum(windows.map((w) => w.start / 100 + w.count))), 'sum');
    t.ok(close(reduced.avg_edge, sum(windows.map((w) => w.start % 7)) / 3), 'mean');
    t.ok(close(reduced.max_drawdown, Math.max(...windows.map((w) => Math.round((0.01 + w.start / 100000) * 1e6) / 1e6))), 'max');
    t.equal(reduced.min_pnl, Math.min(...windows.map((w) => w.start - w.count)), 'min');
    const sharpe = windows.map((w) => Math.round((1 + w.start / 10000) * 1e6) / 1e6);
    t.ok(close(reduced.sharpe_ratio, sum(sharpe.map((v, i) => v * windows[i]!.count)) / 10), 'weighted_avg:sample_count');
    t.same(reduced.seeds, Array.from({ length: 10 }, (_, i) => 100 + i), 'concat joins the seed lists in order');
    t.equal(reduced.sample_count, 3, 'count: results that have the field');
    t.same(reduced.labels, ['chunk-100', 'chunk-104', 'chunk-107'], 'collect');
    t.same(r.aggregate_aliases, reduced, 'each reduced field is also an alias (avg_edge among them)');
    t.equal((r.summary.quality as Json).mean_quality, 1, 'every result has every reduced field');
  });
});
