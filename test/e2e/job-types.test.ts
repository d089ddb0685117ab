/**
 * Job types beyond a single task, on real agents (`computalot dev`): a sweep
 * (Journey 3's body), a map_reduce with explicit ranges (Journey 7) and a
 * keyed fan-out (Journey 2, option A). Payloads and summaries are checked
 * against values computed here.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevPlatform } from '../helpers/job-api.js';
import { packDirectory } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';
import * as reference from '../fixtures/reference-jobs.js';

/** One runner for every job: echoes its payload and computes deterministic scores from it. */
const EVALUATE = `
import json, os
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
out = {"payload": p}
if "learning_rate" in p:
    out["accuracy"] = round(1 - abs(p["learning_rate"] - 0.01) - p["batch_size"] / 1000, 6)
if "seed_start" in p:
    out["total_pnl"] = p["seed_start"] / 1000 + p["seed_count"]
    out["sample_count"] = p["seed_count"]
    out["max_drawdown"] = p["seed_count"] / 10000
if "models" in p:
    out["score"] = len(p["models"])
json.dump(out, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

interface ResultsBody {
  status: string;
  tasks: { task_id: string; payload: unknown }[];
  summary: { best?: unknown; results?: unknown[]; quality: { mean_quality: number | null }; reduced?: Record<string, number | null> };
  aggregate_result: Record<string, unknown>;
}

t.test('sweep, map_reduce and keyed fan-out on real agents', async (t) => {
  const { api } = await startDevPlatform(t, 'types');
  const projectDir = await mkdtemp(join(tmpdir(), 'computalot-types-project-'));
  t.teardown(() => rm(projectDir, { recursive: true, force: true }));
  await api('POST', '/api/v1/projects', { name: 'my-project', remote_dir: '/root/my-project' });
  const manifest = JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'evaluate.py'] } });
  const push = await api('POST', '/api/v1/projects/my-project/push', undefined, packDirectory(projectDir, { Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n', 'computalot.project.json': manifest, 'evaluate.py': EVALUATE }));
  t.equal(push.status, 200);

  const submit = async (body: unknown) => {
    const answer = await api('POST', '/api/v1/jobs', body);
    t.equal(answer.status, 201, `submitted: ${JSON.stringify(answer.body).slice(0, 200)}`);
    const id = String(answer.body.id);
    await waitFor(`job ${id} terminal`, async () => ['completed', 'partial', 'failed', 'cancelled'].includes(String((await api('GET', `/api/v1/jobs/${id}`)).body.status)), 90_000, 200);
    return (await api('GET', `/api/v1/results/${id}`)).body as unknown as ResultsBody;
  };

  // Journey 3, verbatim apart from the project name.
  const sweep = await submit({ ...reference.journey3, project: 'my-project' });
  t.equal(sweep.status, 'completed');
  t.equal(sweep.tasks.length, 9, '3 × 3 combinations');
  t.same(sweep.tasks[0]?.payload, { learning_rate: 0.001, batch_size: 32, dataset: 'cifar10', epochs: 5, _sweep_idx: 0, _sweep_params: { learning_rate: 0.001, batch_size: 32 } });
  const accuracy = (lr: number, bs: number) => Math.round((1 - Math.abs(lr - 0.01) - bs / 1000) * 1e6) / 1e6;
  t.same(sweep.summary.best, { params: { learning_rate: 0.01, batch_size: 32 }, result: { accuracy: accuracy(0.01, 32), payload: sweep.tasks[3]?.payload }, rank: 1 }, 'best is lr 0.01, batch 32');
  t.equal(sweep.summary.results?.length, 9);
  t.equal(sweep.summary.quality.mean_quality, 1, 'every result had the rank_by number');

  // Journey 7 with explicit ranges.
  const ranges = [
    { start: 860791000, count: 1000 },
    { start: 200000000, count: 1000 },
    { start: 500000000, count: 1000 },
  ];
  const mapReduce = await submit({
    type: 'map_reduce',
    runner_command: ['python', 'evaluate.py'],
    project: 'my-project',
    payload: { strategy: 'momentum' },
    split: { field: 'seed', ranges },
    reduce: { total_pnl: 'sum', sharpe_ratio: 'weighted_avg:sample_count', max_drawdown: 'max' },
  });
  t.same(
    mapReduce.tasks.map((task) => task.payload),
    ranges.map((r) => ({ strategy: 'momentum', seed_start: r.start, seed_count: r.count })),
    'each range becomes seed_start/seed_count',
  );
  const expectedPnl = ranges.reduce((sum, r) => sum + r.start / 1000 + r.count, 0);
  t.equal(mapReduce.summary.reduced?.total_pnl, expectedPnl, 'sum computed independently');
  t.equal(mapReduce.summary.reduced?.max_drawdown, 0.1);

  // Journey 2 option A, keyed.
  const fanOut = await submit({ ...reference.optionA, project: 'my-project' });
  t.equal(fanOut.tasks.length, 4);
  t.same(fanOut.tasks[0]?.payload, { models: 'model-a', config: { n_trials: 100 } }, 'each task gets one item');
  t.same(Object.keys(fanOut.aggregate_result).sort(), ['model-a', 'model-b', 'model-c', 'model-d'], 'results keyed by item');
  t.equal(new Set(fanOut.tasks.map((task) => task.task_id)).size, 4, 'no duplicate task');
});
