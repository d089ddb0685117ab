/**
 * The shared job poller behind the SSE streams, against an in-memory reader:
 * snapshots then changes in order, the terminal frame after the final task
 * frames, one read per poll however many subscribers, 404 for another
 * account's job, bounded task reads, and shutdown failing waiters with 503.
 */
import t from 'tap';
import type { FastifyBaseLogger } from 'fastify';
import { ComputalotError } from '../../src/shared/errors.js';
import type { JsonObject } from '../../src/shared/json.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { EventLogRecord } from '../../src/store/store.js';
import { JobWatchHub } from '../../src/gateway/sse/job-watch-hub.js';
import type { JobWatchChange, JobWatchReader } from '../../src/gateway/sse/job-watch.js';
import { MAX_STREAM_TASKS, planTaskReads } from '../../src/gateway/sse/task-poll-plan.js';

const POLL_MS = 20;

/** Jobs, tasks and event logs in memory, counting reads. */
class FakeJobs implements JobWatchReader {
  readonly jobs = new Map<string, { account: string; view: JsonObject }>();
  readonly tasks = new Map<string, JsonObject[]>();
  readonly events = new Map<string, EventLogRecord[]>();
  readonly reads = { jobCalls: 0, tasks: 0 };

  async jobsByIds(accountId: string, ids: readonly string[]): Promise<(JsonObject | null)[]> {
    this.reads.jobCalls += 1;
    return ids.map((id) => {
      const entry = this.jobs.get(id);
      return entry && entry.account === accountId ? structuredClone(entry.view) : null;
    });
  }

  async tasksAt(jobId: string, indices: readonly number[]): Promise<(JsonObject | null)[]> {
    this.reads.tasks += indices.length;
    return indices.map((index) => structuredClone(this.tasks.get(jobId)?.[index] ?? null));
  }

  async eventsAfter(jobId: string, afterSeq: number, limit: number): Promise<EventLogRecord[]> {
    return (this.events.get(jobId) ?? []).filter((e) => e.seq > afterSeq).slice(0, limit);
  }

  put(id: string, status: string, total: number, account = 'acc'): void {
    this.jobs.set(id, { account, view: { id, status, type: 'structured_runner', summary: { tasks: { total } } } });
  }

  setTask(jobId: string, index: number, fields: JsonObject): void {
    const list = this.tasks.get(jobId) ?? [];
    list[index] = { id: `${jobId}.t${index}`, job_id: jobId, index, ...fields };
    this.tasks.set(jobId, list);
  }

  log(jobId: string, type: string): void {
    const list = this.events.get(jobId) ?? [];
    list.push({ seq: list.length + 1, at: Date.now(), type, data: null });
    this.events.set(jobId, list);
  }
}

const logger = silentLogger() as FastifyBaseLogger;

function until(what: string, probe: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (probe()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

t.test('a subscriber gets a snapshot, then task, event and job changes, then the end', async (t) => {
  const fake = new FakeJobs();
  fake.put('j1', 'running', 2);
  fake.setTask('j1', 0, { status: 'running', live_feedback: { output_tail: 'a' } });
  fake.setTask('j1', 1, { status: 'pending' });
  fake.log('j1', 'job.submit');
  const hub = new JobWatchHub(fake, logger, POLL_MS);
  t.teardown(() => hub.stop());

  const changes: JobWatchChange[] = [];
  const { snapshot, unsubscribe } = await hub.subscribe('acc', 'j1', { tasks: true, events: true }, (change) => changes.push(change));
  t.equal(snapshot.job.job_id, 'j1');
  t.equal(snapshot.tasks.length, 2);
  t.equal(snapshot.tasks[0]?.task_id, 'j1.t0');
  t.same(
    snapshot.events.map((e) => e.type),
    ['job.submit'],
    'the backlog of the event log',
  );
  t.equal(snapshot.ended, false);

  fake.setTask('j1', 0, { status: 'running', live_feedback: { output_tail: 'a\nb' } });
  await until('the output change', () => changes.length > 0);
  t.match(changes[0], { kind: 'task', frame: { task_id: 'j1.t0', live_feedback: { output_tail: 'a\nb' } } });

  fake.setTask('j1', 0, { status: 'succeeded', result: { x: 1 } });
  fake.setTask('j1', 1, { status: 'succeeded', result: { x: 2 } });
  fake.log('j1', 'job.task_finished');
  fake.put('j1', 'completed', 2);
  await until('the end', () => changes.some((c) => c.kind === 'end'));
  const kinds = changes.slice(1).map((c) => c.kind);
  t.same(kinds, ['task', 'task', 'event', 'job', 'end'], 'final tasks, then events, then the terminal job, then the end');
  const terminal = changes.find((c) => c.kind === 'job');
  t.match(terminal, { kind: 'job', frame: { job_id: 'j1', status: 'completed', result_persisted: true, completeness: { total_tasks: 2 } } });
  t.same((terminal as { frame: JsonObject }).frame.aggregate_result, [{ x: 1 }, { x: 2 }], 'aggregated from the final tasks');
  unsubscribe();
  t.equal(hub.watchedJobs, 0, 'nothing is watched once the last subscriber leaves');
});

t.test('another account’s job and a missing one are 404 job_not_found', async (t) => {
  const fake = new FakeJobs();
  fake.put('theirs', 'running', 0, 'other');
  const hub = new JobWatchHub(fake, logger, POLL_MS);
  t.teardown(() => hub.stop());
  for (const id of ['theirs', 'missing']) {
    const error = await hub.subscribe('acc', id, { tasks: false, events: false }, () => undefined).catch((e: unknown) => e);
    t.ok(error instanceof ComputalotError && error.code === 'job_not_found' && error.httpStatus === 404, `${id}: 404 job_not_found`);
  }
  t.equal(hub.watchedJobs, 0);
});

t.test('subscribers of the same job share one read per poll', async (t) => {
  const fake = new FakeJobs();
  fake.put('j1', 'running', 0);
  fake.put('j2', 'running', 0);
  const hub = new JobWatchHub(fake, logger, POLL_MS);
  t.teardown(() => hub.stop());
  const subscriptions = await Promise.all(
    ['j1', 'j1', 'j1', 'j2'].map((id) => hub.subscribe('acc', id, { tasks: false, events: false }, () => undefined)),
  );
  t.equal(hub.watchedJobs, 2);
  const before = fake.reads.jobCalls;
  await new Promise((resolve) => setTimeout(resolve, POLL_MS * 10));
  const polls = fake.reads.jobCalls - before;
  t.ok(polls >= 3 && polls <= 12, `one batched job read per poll for both jobs and all subscribers (${polls} reads in 10 intervals)`);
  for (const subscription of subscriptions) subscription.unsubscribe();
});

t.test('a watch of an already terminal job reads its tasks once for the result surface', async (t) => {
  const fake = new FakeJobs();
  fake.put('done', 'completed', 3);
  for (let i = 0; i < 3; i += 1) fake.setTask('done', i, { status: 'succeeded', result: { i } });
  const hub = new JobWatchHub(fake, logger, POLL_MS);
  t.teardown(() => hub.stop());
  const { snapshot, unsubscribe } = await hub.subscribe('acc', 'done', { tasks: false, events: false }, () => undefined);
  t.equal(snapshot.ended, true);
  t.same(snapshot.tasks, [], 'tasks were not asked for');
  t.same(snapshot.job.aggregate_result, [{ i: 0 }, { i: 1 }, { i: 2 }]);
  t.equal(fake.reads.tasks, 3);
  unsubscribe();
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
  const fake = new FakeJobs();
  fake.put('j1', 'running', 0);
  const hub = new JobWatchHub(fake, logger, 60_000);
  // The first poll runs at once; stop before it resolves the waiter.
  const waiting = hub.subscribe('acc', 'j1', { tasks: false, events: false }, () => undefined).catch((e: unknown) => e);
  hub.stop();
  const outcome = await waiting;
  t.ok(outcome instanceof ComputalotError && outcome.httpStatus === 503, 'waiting subscriber gets 503');
  const late = await hub.subscribe('acc', 'j1', { tasks: false, events: false }, () => undefined).catch((e: unknown) => e);
  t.ok(late instanceof ComputalotError && late.httpStatus === 503, 'a subscribe after stop gets 503');
});
