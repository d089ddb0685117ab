/**
 * bench/e2e-noop — tasks per second from `POST /api/v1/jobs` to the job
 * `completed`, for no-op tasks run by a real NodeAgent (its own process,
 * real gRPC) against the controller in this process on the Redis store;
 * against BullMQ on the same redis-server: `addBulk` of the same number of
 * jobs, processed by a Worker (own process, no-op processor, concurrency =
 * the agent's slots) until all completed.
 *
 *   npm run bench:e2e-noop -- [--tasks 10000] [--jobs 10] [--slots 128] [--shape items|chunks] [--shards 64] [--warmup 200] [--reverse] [--store-stats]
 *
 * Cases: one fan-out job of `--tasks` tasks, then `--jobs` jobs of
 * `--tasks / --jobs` tasks each (submitted back to back). `--shape items`
 * (default) fans out `fan_out.items` objects; `chunks` uses `fan_out.chunks`,
 * whose job spec stays small. Each job must end `completed` with every task
 * succeeded, and BullMQ must complete every job, or the bench throws.
 * `--reverse` runs the `--jobs` case first: whichever case runs first pays
 * for the process's JIT warm-up. `--store-stats` prints, per case, the store
 * calls this process made. `--skip-bullmq` leaves BullMQ out (no ratio): for
 * comparing two builds of ours run after run, in a third of the time.
 * A `--warmup`-task job (and as many BullMQ jobs) runs untimed first.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { jobRef } from '../src/actors/shared/ids.js';
import { stringOf, type JsonObject } from '../src/shared/json.js';
import { startBenchChild } from './support/child.js';
import { processCpuSeconds } from './support/process-cpu.js';
import { formatStoreStats, installStoreStats, resetStoreStats } from './support/store-stats.js';
import { loadLine, pollUntil, startBenchController, startBenchRedis, taskSummary, type BenchController } from './support/controller.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    jobs: { type: 'string', default: '10' },
    slots: { type: 'string', default: '128' },
    shape: { type: 'string', default: 'items' },
    shards: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '200' },
    reverse: { type: 'boolean', default: false },
    'store-stats': { type: 'boolean', default: false },
    'skip-bullmq': { type: 'boolean', default: false },
  },
});
const TASKS = Number(values.tasks);
const JOBS = Number(values.jobs);
const SLOTS = Number(values.slots);
const SHARDS = Number(values.shards);
const SHAPE = values.shape === 'chunks' ? 'chunks' : 'items';
const WARMUP = Number(values.warmup);
const RATIO_TARGET = 0.5;
const AGENT_SCRIPT = new URL('./e2e-noop-agent.ts', import.meta.url).pathname;
const TERMINAL = new Set(['completed', 'partial', 'failed', 'cancelled']);

function jobBody(tasks: number, offset: number): JsonObject {
  const fanOut: JsonObject = SHAPE === 'items' ? { items: Array.from({ length: tasks }, (_, i) => ({ item: offset + i })) } : { chunks: tasks, total: tasks };
  return { type: 'structured_runner', project: 'bench', runner_command: ['python', 'run.py'], fan_out: fanOut };
}

interface CaseFigures {
  readonly name: string;
  readonly tasks: number;
  readonly seconds: number;
  /** Seconds from the first POST until every job was `queued` or later (planning done). */
  readonly plannedSeconds: number;
  /** CPU time of this process (controller + bench polling) per task, in µs: steadier than wall time on a shared VM. */
  readonly cpuMicrosPerTask: number;
  /** The same for the agent process and for redis-server (undefined where /proc cannot tell). */
  readonly agentCpuMicrosPerTask: number | undefined;
  readonly redisCpuMicrosPerTask: number | undefined;
}

/** The other processes a case's CPU is measured for. */
interface CasePids {
  readonly agent: number | undefined;
  readonly redis: number | undefined;
}

function microsPerTask(before: number | undefined, after: number | undefined, tasks: number): number | undefined {
  return before === undefined || after === undefined ? undefined : ((after - before) * 1e6) / tasks;
}

async function runCase(controller: BenchController, pids: CasePids, name: string, jobCount: number, tasksPerJob: number, warmup = false): Promise<CaseFigures> {
  resetStoreStats();
  const cpuBefore = process.cpuUsage();
  const agentBefore = processCpuSeconds(pids.agent);
  const redisBefore = processCpuSeconds(pids.redis);
  const started = performance.now();
  const jobIds: string[] = [];
  for (let j = 0; j < jobCount; j++) {
    const answer = await controller.api('POST', '/api/v1/jobs', jobBody(tasksPerJob, j * tasksPerJob));
    if (answer.status !== 201) throw new Error(`${name}: submit answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    jobIds.push(stringOf(answer.body.id));
  }
  let plannedSeconds = 0;
  const jobs = await pollUntil(
    `${name}: every job terminal`,
    async () => {
      // One read for every job: the poll is the bench watching, not work the controller is measured on.
      const models = (await controller.readModels(jobIds.map((id) => jobRef(id)))) as (JsonObject | null)[];
      if (plannedSeconds === 0 && models.every((job) => job !== null && job.status !== 'planning')) plannedSeconds = (performance.now() - started) / 1000;
      return models.every((job) => job !== null && TERMINAL.has(stringOf(job.status))) ? (models as JsonObject[]) : undefined;
    },
    // Fine: a poll reads each job's stored view (about 1 KB: the view carries the
    // compact submission, not the items), and BullMQ's side is timed exactly.
    10,
    600_000,
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const agentAfter = processCpuSeconds(pids.agent);
  const redisAfter = processCpuSeconds(pids.redis);
  for (const job of jobs) {
    const summary = taskSummary(job);
    if (job.status !== 'completed' || summary.total !== tasksPerJob || summary.succeeded !== tasksPerJob) {
      throw new Error(`${name}: job ${stringOf(job.id)} ended ${stringOf(job.status)} with ${JSON.stringify(summary)}; expected completed with ${tasksPerJob} succeeded`);
    }
  }
  if (values['store-stats'] && !warmup) console.log(`store calls in this process during ${name} (controller + bench polling):\n${formatStoreStats(jobCount * tasksPerJob)}`);
  const tasks = jobCount * tasksPerJob;
  return {
    name,
    tasks,
    seconds,
    plannedSeconds,
    cpuMicrosPerTask: (cpu.user + cpu.system) / tasks,
    agentCpuMicrosPerTask: microsPerTask(agentBefore, agentAfter, tasks),
    redisCpuMicrosPerTask: microsPerTask(redisBefore, redisAfter, tasks),
  };
}

interface BullmqFigures {
  readonly seconds: number;
  /** CPU µs per job: this process (the Queue), the Worker process, redis-server. */
  readonly queueCpuMicrosPerJob: number;
  readonly workerCpuMicrosPerJob: number | undefined;
  readonly redisCpuMicrosPerJob: number | undefined;
}

async function benchBullmq(socket: string, redisPid: number | undefined): Promise<BullmqFigures> {
  const queueName = 'bench-e2e';
  const milestones = WARMUP > 0 ? [WARMUP, WARMUP + TASKS] : [TASKS];
  const worker = startBenchChild(AGENT_SCRIPT, ['bullmq', socket, queueName, String(SLOTS), milestones.join(',')]);
  try {
    await worker.waitForLine(/^ready$/, 30_000);
    const queue = new Queue(queueName, { connection: { path: socket, maxRetriesPerRequest: null } });
    await queue.waitUntilReady();
    const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'task', data: { item: i }, opts: { removeOnComplete: true } }));
    if (WARMUP > 0) {
      await queue.addBulk(jobs(WARMUP));
      await worker.waitForLine(new RegExp(`^done ${WARMUP}$`), 60_000);
    }
    const main = jobs(TASKS);
    const cpuBefore = process.cpuUsage();
    const workerBefore = processCpuSeconds(worker.process.pid);
    const redisBefore = processCpuSeconds(redisPid);
    const started = performance.now();
    await queue.addBulk(main);
    await worker.waitForLine(new RegExp(`^done ${WARMUP + TASKS}$`), 600_000);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const figures: BullmqFigures = {
      seconds,
      queueCpuMicrosPerJob: (cpu.user + cpu.system) / TASKS,
      workerCpuMicrosPerJob: microsPerTask(workerBefore, processCpuSeconds(worker.process.pid), TASKS),
      redisCpuMicrosPerJob: microsPerTask(redisBefore, processCpuSeconds(redisPid), TASKS),
    };
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    if (Object.values(counts).some((n) => n !== 0)) throw new Error(`bullmq: jobs left after ${TASKS} completed: ${JSON.stringify(counts)}`);
    await queue.obliterate({ force: true });
    await queue.close();
    return figures;
  } finally {
    await worker.stop();
  }
}

if (values['store-stats']) installStoreStats();
const redis = await startBenchRedis();
try {
  const controller = await startBenchController({ redisPath: redis.path, dataDir: redis.dir, shards: SHARDS });
  const figures: CaseFigures[] = [];
  try {
    const agent = startBenchChild(AGENT_SCRIPT, ['agent', controller.grpcAddress, String(SLOTS)]);
    try {
      await agent.waitForLine(/^registered (\S+)$/, 30_000);
      // Untimed: the first job of a process pays for JIT warm-up (BullMQ gets the same).
      const pids: CasePids = { agent: agent.process.pid, redis: redis.pid };
      if (WARMUP > 0) await runCase(controller, pids, 'warm-up', 1, WARMUP, true);
      const cases: [name: string, jobs: number][] = [[`1 job × ${TASKS}`, 1]];
      if (JOBS > 1) cases.push([`${JOBS} jobs × ${Math.floor(TASKS / JOBS)}`, JOBS]);
      if (values.reverse) cases.reverse();
      for (const [name, jobs] of cases) figures.push(await runCase(controller, pids, name, jobs, Math.floor(TASKS / jobs)));
    } finally {
      await agent.stop();
    }
  } finally {
    await controller.stop();
  }
  const bullmq = values['skip-bullmq'] ? undefined : await benchBullmq(redis.path, redis.pid);
  const bullmqRate = bullmq === undefined ? undefined : TASKS / bullmq.seconds;
  const ratio = (rate: number) => {
    if (bullmqRate === undefined) return 'no ratio (BullMQ skipped)';
    const value = rate / bullmqRate;
    return `ratio to bullmq ${value.toFixed(2)}${value >= RATIO_TARGET ? ` (≥ ${RATIO_TARGET} target met)` : ` (target ≥ ${RATIO_TARGET} missed)`}`;
  };

  console.log(`e2e-noop: submit → job completed, no-op tasks on one NodeAgent (${SLOTS} slots, own process, gRPC); Redis store (unix socket), ${SHARDS} shards, controller in this process; fan_out.${SHAPE}`);
  console.log(`machine: ${await loadLine()}`);
  for (const f of figures) {
    const rate = f.tasks / f.seconds;
    console.log(
      [
        `computalot ${f.name.padEnd(16)}`,
        `${f.seconds.toFixed(2)} s (planned after ${f.plannedSeconds.toFixed(2)} s)`,
        `${rate.toFixed(0)} tasks/s`,
        `CPU µs/task: controller ${f.cpuMicrosPerTask.toFixed(0)}, agent ${f.agentCpuMicrosPerTask?.toFixed(0) ?? '?'}, redis ${f.redisCpuMicrosPerTask?.toFixed(0) ?? '?'}`,
        ratio(rate),
      ].join(' | '),
    );
  }
  if (bullmq !== undefined && bullmqRate !== undefined) {
    console.log(
      [
        `bullmq addBulk(${TASKS}) + Worker (concurrency ${SLOTS}, own process): ${bullmq.seconds.toFixed(2)} s`,
        `${bullmqRate.toFixed(0)} jobs/s`,
        `CPU µs/job: queue ${bullmq.queueCpuMicrosPerJob.toFixed(0)}, worker ${bullmq.workerCpuMicrosPerJob?.toFixed(0) ?? '?'}, redis ${bullmq.redisCpuMicrosPerJob?.toFixed(0) ?? '?'}`,
      ].join(' | '),
    );
  }
} finally {
  await redis.stop();
}
