/**
 * The shared job poller behind the SSE streams, on a real controller node
 * and embedded store read through the real `JobReader`: snapshots then
 * changes in order, the terminal frame after the final task frames, one
 * batched read per poll however many subscribers, 404 for another account's
 * job, the result surface of an already-ended job, bounded task reads, and
 * shutdown failing waiters with 503. Jobs are planned by the product's job
 * effects; their tasks are moved along with the events a scheduler and an
 * agent would send.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorKinds } from '../../src/actors/index.js';
import { ControllerNode, type EffectHandler } from '../../src/actors/runtime/index.js';
import { jobRef, taskIdOf, taskRef } from '../../src/actors/shared/ids.js';
import { JobReader } from '../../src/gateway/jobs/job-reader.js';
import { JobWatchHub } from '../../src/gateway/sse/job-watch-hub.js';
import type { JobWatchChange, JobWatchReader } from '../../src/gateway/sse/job-watch.js';
import { MAX_STREAM_TASKS, planTaskReads } from '../../src/gateway/sse/task-poll-plan.js';
import { jobEffectHandlers } from '../../src/scheduler/index.js';
import { ComputalotError } from '../../src/shared/errors.js';
import type { JsonObject, JsonValue } from '../../src/shared/json.js';
import { silentLogger } from '../../src/shared/logger.js';
import { EmbeddedStore } from '../../src/store/embedded/index.js';
import { createJobTasks } from '../helpers/job-tasks.js';
import { waitFor } from '../helpers/wait.js';

const POLL_MS = 20;
const ACCOUNT = 'acct_watch';
const logger = silentLogger();

/**
 * The real reader, with its calls counted: which job ids each batched job
 * read asked for, and how many task views were read. Reads still in flight
 * are tracked so a test's node outlives its hub's last poll.
 */
class CountingReader implements JobWatchReader {
  readonly jobReads: string[][] = [];
  taskViewsRead = 0;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly real: JobReader) {}

  jobsByIds(accountId: string, ids: readonly string[]): Promise<(JsonObject | null)[]> {
    this.jobReads.push([...ids]);
    return this.track(this.real.jobsByIds(accountId, ids));
  }

  tasksAt(job: JsonObject, indices: readonly number[]): Promise<(JsonObject | null)[]> {
    this.taskViewsRead += indices.length;
    return this.track(this.real.tasksAt(job, indices));
  }

  eventsAfter(jobId: string, afterSeq: number, limit: number): ReturnType<JobReader['eventsAfter']> {
    return this.track(this.real.eventsAfter(jobId, afterSeq, limit));
  }

  /** Resolves once no read is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(read: Promise<T>): Promise<T> {
    this.inFlight.add(read);
    void read.finally(() => this.inFlight.delete(read)).catch(() => undefined);
    return read;
  }
}

/** One controller node with the product's actor kinds and job effects on an embedded store, shared by the tests. */
const { node, store, jobReader } = await (async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-job-watch-'));
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4 });
  const effectHandlers = new Map<string, EffectHandler>();
  const node = new ControllerNode({ store, kinds: actorKinds, logger, leaseTtlMs: 1_500, heartbeatIntervalMs: 200, effectHandlers });
  for (const [kind, handler] of jobEffectHandlers(node, store, [])) effectHandlers.set(kind, handler);
  await node.start();
  t.teardown(async () => {
    await node.stop();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { node, store, jobReader: new JobReader(node, store) };
})();

/** A hub over a counting real reader; stopped, with its reads settled, when the test ends. */
function startHub(tt: Test, pollMs = POLL_MS) {
  const reader = new CountingReader(jobReader);
  const hub = new JobWatchHub(reader, logger, pollMs);
  tt.teardown(async () => {
    hub.stop();
    await reader.idle();
  });
  return { hub, reader };
}

let jobSeq = 0;

/** Submits a structured_runner job with one task per item and creates its tasks (as the scheduler would). */
async function submitJob(items: JsonValue[], accountId = ACCOUNT): Promise<string> {
  jobSeq += 1;
  const jobId = `job_20260101_000000_watch${jobSeq}`;
  await node.send([
    node.message(jobRef(jobId), {
      type: 'job.submit',
      accountId,
      jobType: 'structured_runner',
      project: 'p',
      spec: { payload: {}, fan_out: { items } },
    }),
  ]);
  await createJobTasks(node, store, jobId, items.length);
  return jobId;
}

async function taskView(jobId: string, index: number): Promise<JsonObject> {
  const [view] = (await node.readModels([taskRef(taskIdOf(jobId, index))])) as JsonObject[];
  return view as JsonObject;
}

async function jobView(jobId: string): Promise<JsonObject> {
  const [view] = (await node.readModels([jobRef(jobId)])) as JsonObject[];
  return view as JsonObject;
}

/** Messages (as the scheduler and the agent would send them) naming the task's current attempt. */
async function toTask(jobId: string, index: number, ...events: (JsonObject & { type: string })[]) {
  const attemptId = (await taskView(jobId, index)).attempt_id as string;
  return events.map((event) => node.message(taskRef(taskIdOf(jobId, index)), { attemptId, ...event }));
}

function changesSeen(what: string, probe: () => boolean): Promise<true> {
  return waitFor(what, () => probe() || undefined, 5_000, 5);
}

t.test('a subscriber gets a snapshot, then task, event and job changes, then the end', async (t) => {
  const jobId = await submitJob([{ n: 1 }, { n: 2 }]);
  // Both tasks start in one send, so the job takes both starts in one step before anyone watches.
  await node.send([
    ...(await toTask(jobId, 0, { type: 'task.dispatched', workerId: 'w1' }, { type: 'task.started' }, { type: 'task.progress', progress: { pct: 10 }, outputTail: 'a' })),
    ...(await toTask(jobId, 1, { type: 'task.dispatched', workerId: 'w2' }, { type: 'task.started' })),
  ]);
  await waitFor('the job running', async () => (await jobView(jobId)).status === 'running');
  const { hub } = startHub(t);

  const changes: JobWatchChange[] = [];
  const { snapshot, unsubscribe } = await hub.subscribe(ACCOUNT, jobId, { tasks: true, events: true }, (change) => changes.push(change));
  t.equal(snapshot.job.job_id, jobId);
  t.equal(snapshot.job.status, 'running');
  t.equal(snapshot.taskTotal, 2);
  t.same(
    snapshot.tasks.map((task) => [task.task_id, task.status]),
    [
      [taskIdOf(jobId, 0), 'running'],
      [taskIdOf(jobId, 1), 'running'],
    ],
  );
  t.match(snapshot.tasks[0], { live_feedback: { output_tail: 'a' } });
  t.equal(snapshot.events[0]?.type, 'job.submit', 'the backlog of the event log, from the submit on');
  t.ok(snapshot.events.every((event, i) => event.job_id === jobId && event.seq === i + 1), 'in log order');
  t.equal(snapshot.ended, false);
  const backlog = snapshot.events.length;

  await node.send(await toTask(jobId, 0, { type: 'task.progress', progress: { pct: 50 }, outputTail: 'a\nb' }));
  await changesSeen('the output change', () => changes.length > 0);
  t.match(changes[0], { kind: 'task', frame: { task_id: taskIdOf(jobId, 0), live_feedback: { output_tail: 'a\nb' } } });
  t.equal(changes.length, 1, 'only the task changed');

  // Both results in one send: the tasks commit together, then the job ends on their reports.
  changes.length = 0;
  await node.send([...(await toTask(jobId, 0, { type: 'task.succeeded', result: { x: 1 } })), ...(await toTask(jobId, 1, { type: 'task.succeeded', result: { x: 2 } }))]);
  await changesSeen('the end', () => changes.some((c) => c.kind === 'end'));
  const kinds = changes.map((c) => c.kind);
  t.same(kinds, ['task', 'task', 'event', 'job', 'end'], 'final tasks, then events, then the terminal job, then the end');
  t.match(changes[0], { kind: 'task', frame: { task_id: taskIdOf(jobId, 0), status: 'succeeded', result: { x: 1 } } });
  t.match(changes[1], { kind: 'task', frame: { task_id: taskIdOf(jobId, 1), status: 'succeeded', result: { x: 2 } } });
  t.match(changes[2], { kind: 'event', frame: { job_id: jobId, seq: backlog + 1 } });
  const terminal = changes.find((c) => c.kind === 'job');
  t.match(terminal, { kind: 'job', frame: { job_id: jobId, status: 'completed', result_persisted: true, completeness: { total_tasks: 2 } } });
  t.same((terminal as { frame: JsonObject }).frame.aggregate_result, [{ x: 1 }, { x: 2 }], 'aggregated from the final tasks');
  t.match(changes.at(-1), { kind: 'end', reason: 'terminal' });
  unsubscribe();
  t.equal(hub.watchedJobs, 0, 'nothing is watched once the last subscriber leaves');
});

t.test('another account’s job and a missing one are 404 job_not_found', async (t) => {
  const theirs = await submitJob([{ n: 1 }], 'acct_other');
  const { hub } = startHub(t);
  for (const id of [theirs, 'job_20260101_000000_missing']) {
    const error = await hub.subscribe(ACCOUNT, id, { tasks: false, events: false }, () => undefined).catch((e: unknown) => e);
    t.ok(error instanceof ComputalotError && error.code === 'job_not_found' && error.httpStatus === 404, `${id}: 404 job_not_found`);
  }
  t.equal(hub.watchedJobs, 0);
  const { snapshot, unsubscribe } = await hub.subscribe('acct_other', theirs, { tasks: false, events: false }, () => undefined);
  t.equal(snapshot.job.job_id, theirs, 'the owning account sees it');
  t.notOk('account_id' in snapshot.job, 'without the internal owner field');
  unsubscribe();
});

t.test('subscribers of the same job share one read per poll', async (t) => {
  const [j1, j2] = await Promise.all([submitJob([{ n: 1 }]), submitJob([{ n: 1 }])]);
  const { hub, reader } = startHub(t);
  const subscriptions = await Promise.all([j1, j1, j1, j2].map((id) => hub.subscribe(ACCOUNT, id, { tasks: false, events: false }, () => undefined)));
  t.equal(hub.watchedJobs, 2);
  const before = reader.jobReads.length;
  await new Promise((resolve) => setTimeout(resolve, POLL_MS * 10));
  const reads = reader.jobReads.slice(before);
  t.ok(reads.length >= 3 && reads.length <= 12, `one job read per poll for all subscribers (${reads.length} reads in 10 intervals)`);
  t.ok(
    reads.every((ids) => ids.length === 2 && ids.includes(j1) && ids.includes(j2)),
    'each read is one batch naming both jobs once',
  );
  t.equal(reader.taskViewsRead, 0, 'no task is read when nobody asked for tasks and the jobs run on');
  for (const subscription of subscriptions) subscription.unsubscribe();
});

t.test('a watch of an already terminal job reads its tasks once for the result surface', async (t) => {
  const jobId = await submitJob([{ n: 0 }, { n: 1 }, { n: 2 }]);
  for (let i = 0; i < 3; i += 1) await node.send(await toTask(jobId, i, { type: 'task.dispatched', workerId: 'w1' }, { type: 'task.succeeded', result: { i } }));
  await waitFor('the job completed', async () => (await jobView(jobId)).status === 'completed');
  const { hub, reader } = startHub(t);
  const { snapshot, unsubscribe } = await hub.subscribe(ACCOUNT, jobId, { tasks: false, events: false }, () => undefined);
  t.equal(snapshot.ended, true);
  t.equal(snapshot.job.status, 'completed');
  t.same(snapshot.tasks, [], 'tasks were not asked for');
  t.same(snapshot.job.aggregate_result, [{ i: 0 }, { i: 1 }, { i: 2 }]);
  t.equal(reader.taskViewsRead, 3, 'each task read once');
  await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5));
  t.equal(reader.jobReads.length, 1, 'an ended job is not polled again');
  unsubscribe();
  t.equal(hub.watchedJobs, 0);
});

t.test('task reads per poll are bounded; active tasks come first', async (t) => {
  const known = new Map<number, JsonObject>();
  for (let i = 0; i < 2_000; i += 1) known.set(i, { status: i < 10 ? 'running' : i < 500 ? 'succeeded' : 'pending' });
  const first = planTaskReads(2_000, known, 0, 100);
  t.equal(first.indices.length, 100);
  t.same(first.indices.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'running tasks first');
  t.notOk(first.indices.some((i) => i >= 10 && i < 500), 'finished tasks are never re-read');
  t.notOk(first.indices.some((i) => i >= MAX_STREAM_TASKS), 'tasks past the first 1000 are not followed');
  const second = planTaskReads(2_000, known, first.cursor, 100);
  t.not(second.indices[10], first.indices[10], 'pending tasks take turns');
  const small = planTaskReads(3, new Map(), 0, 100);
  t.same(small.indices, [0, 1, 2], 'unread tasks are read');
});

t.test('shutdown answers subscribers still waiting with 503', async (t) => {
  const jobId = await submitJob([{ n: 1 }]);
  const { hub, reader } = startHub(t, 60_000);
  // The first poll starts at once; stop before its read resolves the waiter.
  const waiting = hub.subscribe(ACCOUNT, jobId, { tasks: false, events: false }, () => undefined).catch((e: unknown) => e);
  t.equal(reader.jobReads.length, 1, 'the first read is in flight');
  hub.stop();
  const outcome = await waiting;
  t.ok(outcome instanceof ComputalotError && outcome.httpStatus === 503, 'waiting subscriber gets 503');
  const late = await hub.subscribe(ACCOUNT, jobId, { tasks: false, events: false }, () => undefined).catch((e: unknown) => e);
  t.ok(late instanceof ComputalotError && late.httpStatus === 503, 'a subscribe after stop gets 503');
});
