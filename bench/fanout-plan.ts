/**
 * bench/fanout-plan — how long a big job takes from `POST /api/v1/jobs` until
 * every task is persisted and queued, on the Redis store with no agent
 * attached, and how much that stalls the controller's event loop; against
 * BullMQ's `addBulk` of the same number of jobs on the same redis-server.
 *
 * A task's input is a pure function of the job's submission, which is stored
 * before the job is accepted; planning checks and counts the tasks and queues
 * the job as one ready-queue range, and the scheduler creates each task actor
 * as it dispatches it (`src/jobs/task-plan.ts`).
 *
 *   npm run bench:fanout-plan -- [--items 10000] [--sweep 10] [--chunks 10000] [--shards 64] [--runs 1] [--case fan_out|sweep|map_reduce] [--warmup 200] [--store-stats]
 *
 * Cases: (a) a structured_runner `fan_out.items` of `--items` objects, (b) a
 * sweep of `--sweep`³ combinations (10 × 10 × 10), (c) a map_reduce of
 * `--chunks` chunks over 10 000 000 seeds. "Planned" means: the job's read
 * model says `queued` with `summary.tasks.total == N`, and the store's
 * `ready:cpu` queue holds the job's range of N tasks, none handed out.
 * Checked afterwards, outside the timing: `GET /api/v1/jobs/:id/tasks`
 * lists N pending tasks whose payloads are exactly the BullMQ jobs' data.
 *
 * The controller is the product's (`serveController`) in this process, so the
 * event-loop delay measured here (perf_hooks `monitorEventLoopDelay`, 10 ms
 * resolution, between POST and "planned") is the controller's. Each case
 * type runs once untimed at `--warmup` tasks first (JIT warm-up), BullMQ too.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { taskIdOf } from '../src/actors/shared/ids.js';
import { normaliseRequirements } from '../src/actors/shared/resources.js';
import { ReadyQueues } from '../src/scheduler/ready-queue.js';
import { stringOf, type JsonObject, type JsonValue } from '../src/shared/json.js';
import { formatStoreStats, installStoreStats, resetStoreStats } from './support/store-stats.js';
import { loadLine, pollUntil, startBenchController, startBenchRedis, taskSummary, type BenchController } from './support/controller.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    sweep: { type: 'string', default: '10' },
    chunks: { type: 'string', default: '10000' },
    shards: { type: 'string', default: '64' },
    runs: { type: 'string', default: '1' },
    case: { type: 'string' },
    warmup: { type: 'string', default: '200' },
    'store-stats': { type: 'boolean', default: false },
  },
});
const ITEMS = Number(values.items);
const SWEEP_SIDE = Number(values.sweep);
const CHUNKS = Number(values.chunks);
const SHARDS = Number(values.shards);
const RUNS = Math.max(1, Number(values.runs));
const WARMUP = Number(values.warmup);
/** Resolution of the event-loop delay histogram, in ms. */
const RESOLUTION_MS = 10;
const P99_TARGET_MS = 50;

interface Case {
  readonly name: string;
  readonly tasks: number;
  readonly body: JsonObject;
  /** The BullMQ jobs of the comparison: one per task, with the task's payload as data. */
  readonly bullmqData: (i: number) => JsonObject;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const common = { project: 'bench', runner_command: ['python', 'run.py'] };

function makeCases(items: number, sweepSide: number, chunks: number): Case[] {
  const side = range(sweepSide);
  return [
    {
      name: `fan_out.items ×${items}`,
      tasks: items,
      body: { ...common, type: 'structured_runner', fan_out: { items: range(items).map((i) => ({ item: i, seed: 1000 + i })) } },
      bullmqData: (i) => ({ item: i, seed: 1000 + i }),
    },
    {
      name: `sweep ${sweepSide}×${sweepSide}×${sweepSide}`,
      tasks: sweepSide ** 3,
      body: {
        ...common,
        type: 'sweep',
        parameters: { learning_rate: side.map((i) => 0.001 * (i + 1)), batch_size: side.map((i) => 16 * (i + 1)), depth: side.map((i) => i + 1) },
        fixed_payload: { dataset: 'cifar10' },
        rank_by: 'accuracy',
      },
      bullmqData: (i) => ({ learning_rate: 0.001 * (Math.floor(i / sweepSide ** 2) + 1), batch_size: 16 * ((Math.floor(i / sweepSide) % sweepSide) + 1), depth: (i % sweepSide) + 1, dataset: 'cifar10' }),
    },
    {
      name: `map_reduce ${chunks} chunks`,
      tasks: chunks,
      body: { ...common, type: 'map_reduce', payload: { strategy: 'momentum' }, split: { field: 'seed', start: 0, total: 10_000_000, chunks }, reduce: { total_pnl: 'sum' } },
      bullmqData: (i) => ({ strategy: 'momentum', seed_start: i * Math.floor(10_000_000 / chunks), seed_count: Math.floor(10_000_000 / chunks) }),
    },
  ];
}
const cases = makeCases(ITEMS, SWEEP_SIDE, CHUNKS);

interface PlanFigures {
  readonly seconds: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Whether the job's range of N tasks is in `ready:cpu` (the bench jobs have default requirements; with no agent, none is taken). */
async function rangeQueued(controller: BenchController, jobId: string, tasks: number): Promise<boolean> {
  const member = ReadyQueues.encodeRange({ jobId, taskCount: tasks, requirements: normaliseRequirements(null) });
  const items = await controller.observer.queuePeek(ReadyQueues.queueName('cpu'), 1_000);
  return items.some((item) => item.member === member);
}

async function planOnce(controller: BenchController, bench: Case, warmup = false): Promise<PlanFigures> {
  resetStoreStats();
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const started = performance.now();
  const submitted = await controller.api('POST', '/api/v1/jobs', bench.body);
  if (submitted.status !== 201) throw new Error(`${bench.name}: submit answered ${submitted.status}: ${JSON.stringify(submitted.body).slice(0, 300)}`);
  const jobId = stringOf(submitted.body.id);
  await pollUntil(
    `${bench.name} planned`,
    async () => {
      const job = await controller.readJob(jobId);
      if (job?.status !== 'queued' || taskSummary(job).total !== bench.tasks) return undefined;
      return (await rangeQueued(controller, jobId, bench.tasks)) ? true : undefined;
    },
    5,
    120_000,
  );
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  // The histogram records intervals between 10 ms timer ticks: the delay is what exceeds the tick.
  const figures = { seconds, p99Ms: Math.max(0, delay.percentile(99) / 1e6 - RESOLUTION_MS), maxMs: Math.max(0, delay.max / 1e6 - RESOLUTION_MS) };
  if (values['store-stats'] && !warmup) console.log(`store calls in this process while planning ${bench.name} (controller + bench polling):\n${formatStoreStats(bench.tasks)}`);
  await verifyPlanned(controller, bench, jobId);
  return figures;
}

/** Outside the timing: the API lists N pending tasks carrying exactly the BullMQ jobs' data as payloads. */
async function verifyPlanned(controller: BenchController, bench: Case, jobId: string): Promise<void> {
  for (let offset = 0; offset < bench.tasks; offset += 1_000) {
    const page = await controller.api('GET', `/api/v1/jobs/${jobId}/tasks?limit=1000&offset=${offset}`);
    const tasks = (page.body.tasks ?? []) as JsonObject[];
    const expected = Math.min(1_000, bench.tasks - offset);
    if (page.status !== 200 || tasks.length !== expected) throw new Error(`${bench.name}: tasks page at ${offset} answered ${page.status} with ${tasks.length} tasks, expected ${expected}`);
    const bad = tasks.findIndex((task, i) => task.status !== 'pending' || task.id !== taskIdOf(jobId, offset + i) || !carries(task.payload, bench.bullmqData(offset + i)));
    if (bad >= 0) throw new Error(`${bench.name}: task ${offset + bad} is ${JSON.stringify(tasks[bad])?.slice(0, 300)}, expected pending with payload fields ${JSON.stringify(bench.bullmqData(offset + bad))}`);
  }
  const job = await controller.readJob(jobId);
  if (job?.status !== 'queued' || taskSummary(job).total !== bench.tasks) throw new Error(`${bench.name}: job is ${stringOf(job?.status, 'missing')} with ${taskSummary(job).total} tasks`);
}

/** Whether `payload` has every field of `data` with the same value (task payloads add `_sweep_idx` and the like). */
function carries(payload: JsonValue | undefined, data: JsonObject): boolean {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  return Object.entries(data).every(([field, value]) => JSON.stringify(payload[field]) === JSON.stringify(value));
}

async function bullmqAddBulk(socket: string, bench: Case): Promise<number> {
  const connection = { path: socket, maxRetriesPerRequest: null };
  const queue = new Queue('bench-plan', { connection });
  await queue.waitUntilReady();
  const jobs = range(bench.tasks).map((i) => ({ name: 'task', data: bench.bullmqData(i) }));
  const started = performance.now();
  const added = await queue.addBulk(jobs);
  const seconds = (performance.now() - started) / 1000;
  const waiting = await queue.getWaitingCount();
  if (added.length !== bench.tasks || waiting !== bench.tasks) throw new Error(`bullmq: addBulk returned ${added.length} jobs, ${waiting} waiting; expected ${bench.tasks}`);
  await queue.obliterate({ force: true });
  await queue.close();
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

if (values['store-stats']) installStoreStats();
const redis = await startBenchRedis();
try {
  const controller = await startBenchController({ redisPath: redis.path, dataDir: redis.dir, shards: SHARDS });
  const results: { bench: Case; plan: PlanFigures; bullmq: number }[] = [];
  try {
    // Untimed: the first job of a process pays for JIT warm-up, and so does the first addBulk.
    if (WARMUP > 0) {
      for (const bench of makeCases(WARMUP, 3, WARMUP)) {
        await planOnce(controller, bench, true);
        await bullmqAddBulk(redis.path, bench);
      }
    }
    for (const bench of cases.filter((c) => values.case === undefined || c.name.startsWith(values.case))) {
      const plans: PlanFigures[] = [];
      const bullmq: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        plans.push(await planOnce(controller, bench));
        bullmq.push(await bullmqAddBulk(redis.path, bench));
      }
      const seconds = median(plans.map((p) => p.seconds));
      const plan = { seconds, p99Ms: median(plans.map((p) => p.p99Ms)), maxMs: median(plans.map((p) => p.maxMs)) };
      results.push({ bench, plan, bullmq: median(bullmq) });
    }
  } finally {
    await controller.stop();
  }

  console.log(`fanout-plan: POST /api/v1/jobs → all tasks persisted and queued; Redis store (unix socket), ${SHARDS} shards, controller in this process, no agent; median of ${RUNS} run(s)`);
  console.log(`machine: ${await loadLine()}`);
  console.log(`event-loop delay: perf_hooks monitorEventLoopDelay at ${RESOLUTION_MS} ms resolution, the ${RESOLUTION_MS} ms tick subtracted`);
  for (const { bench, plan, bullmq } of results) {
    const ratio = plan.seconds / bullmq;
    console.log(
      [
        `${bench.name.padEnd(26)}`,
        `planning ${plan.seconds.toFixed(3)} s`,
        `${(bench.tasks / plan.seconds).toFixed(0)} tasks/s`,
        `event-loop p99 ${plan.p99Ms.toFixed(1)} ms (max ${plan.maxMs.toFixed(1)})${plan.p99Ms <= P99_TARGET_MS ? '' : ` > ${P99_TARGET_MS} ms target`}`,
        `bullmq addBulk(${bench.tasks}) ${bullmq.toFixed(3)} s`,
        `ratio ${ratio.toFixed(2)}${ratio <= 1 ? ' (≤ 1.0 target met)' : ' (target ≤ 1.0 missed)'}`,
      ].join(' | '),
    );
  }
} finally {
  await redis.stop();
}
