import t from 'tap';
import { taskKind, taskInputFromCreateEvent } from '../../src/actors/task/task.kind.js';
import { compactState, expandState } from '../../src/actors/runtime/context-storage.js';
import { persistSnapshot, startActor, stepActor } from '../../src/actors/runtime/actor-state.js';
import { counterKind } from '../fixtures/counter-kind.js';
import { jobInputFromCreateEvent, jobKind } from '../../src/actors/job/job.kind.js';
import { decodeRuns, encodeRuns } from '../../src/actors/job/job.storage.js';

const input = taskInputFromCreateEvent('job_cd.t3', { type: 'task.create', at: 1_000, jobId: 'job_cd', index: 3, payload: { seed: 7 }, priority: 'high', maxRetries: 2 });
if (!input) throw new Error('no input');
const created = startActor(taskKind.machine, input).snapshot;
const dispatchedEvent = { type: 'task.dispatched', at: 2_000, attemptId: 'job_cd.t3.a1', workerId: 'wrk_1' };
const dispatched = stepActor(taskKind.machine, created, dispatchedEvent).snapshot;

t.test('a task snapshot is stored without its default fields and loads back whole', async (t) => {
  for (const [name, snapshot] of [['created', created], ['dispatched', dispatched]] as const) {
    const full = persistSnapshot(snapshot);
    const stored = compactState(taskKind, full);
    t.ok(Object.keys(stored.context).length < Object.keys(full.context).length / 2, `${name}: fewer than half the fields stored`);
    t.notOk('result' in stored.context, `${name}: null result left out`);
    t.equal(stored.context.priority, 'high', `${name}: a non-default value is kept`);
    t.equal(stored.context.maxRetries, 2, `${name}: a non-default count is kept`);
    t.same(JSON.parse(JSON.stringify(expandState(taskKind, JSON.parse(JSON.stringify(stored)) as typeof stored))), JSON.parse(JSON.stringify(full)), `${name}: round trip through JSON is exact`);
  }
  const stored = compactState(taskKind, persistSnapshot(dispatched));
  t.equal((stored.context.attempts as unknown[]).length, 1, 'a non-empty array is kept');
  t.equal(stored.context.workerId, 'wrk_1');
});

t.test('a stored task leaves out what its id says and default requirements; a finished one loads back whole', async (t) => {
  const result = { type: 'task.succeeded', at: 3_000, attemptId: 'job_cd.t3.a1', result: { ok: true }, startedAt: 2_500 };
  const succeeded = stepActor(taskKind.machine, dispatched, result).snapshot;
  for (const [name, snapshot] of [['dispatched', dispatched], ['succeeded', succeeded]] as const) {
    const full = persistSnapshot(snapshot);
    const stored = compactState(taskKind, full);
    for (const field of ['jobId', 'index', 'attemptId', 'requirements']) t.notOk(field in stored.context, `${name}: ${field} left out`);
    const [attempt] = stored.context.attempts as Record<string, unknown>[];
    t.notOk(attempt && 'attemptId' in attempt, `${name}: the attempt's id is left out too`);
    t.same(JSON.parse(JSON.stringify(expandState(taskKind, JSON.parse(JSON.stringify(stored)) as typeof stored))), JSON.parse(JSON.stringify(full)), `${name}: round trip through JSON is exact`);
  }
  const stored = compactState(taskKind, persistSnapshot(succeeded));
  t.match(stored.context.attempts, [{ attempt: 1, workerId: 'wrk_1', dispatchedAt: 2_000, startedAt: 2_500, endedAt: 3_000, outcome: 'succeeded', exitCode: 0 }]);
  t.ok(JSON.stringify(stored).length < JSON.stringify(persistSnapshot(succeeded)).length * 0.6, 'well under two thirds of the full snapshot');
});

t.test('a task stored in full (before the compact form) loads the same', async (t) => {
  const full = persistSnapshot(dispatched);
  t.same(expandState(taskKind, JSON.parse(JSON.stringify(full)) as typeof full), full);
});

t.test('non-default requirements are kept', async (t) => {
  const gpuInput = taskInputFromCreateEvent('job_cd.t4', { type: 'task.create', at: 1_000, jobId: 'job_cd', index: 4, payload: null, requirements: { gpu_count: 1 } });
  if (!gpuInput) throw new Error('no input');
  const full = persistSnapshot(startActor(taskKind.machine, gpuInput).snapshot);
  const stored = compactState(taskKind, full);
  t.match(stored.context.requirements, { gpuCount: 1, profile: 'gpu' });
  t.same(expandState(taskKind, stored), full);
});

t.test('kinds without defaults are stored as they are', async (t) => {
  const state = { value: 'open', context: { count: 0, adds: 0, reminded: 0 }, status: 'active' as const };
  t.equal(compactState(counterKind, state), state);
  t.equal(expandState(counterKind, state), state);
});

t.test('a job stores its task outcomes as runs and loads them back whole', async (t) => {
  t.equal(encodeRuns('sssss.....'), '5s5.');
  t.equal(encodeRuns('sfs'), '1s1f1s');
  t.equal(encodeRuns(''), '');
  for (const outcomes of ['', 's', 'sssss.....', 'sfctsss..f.', 's'.repeat(9_990) + '.'.repeat(10)]) {
    t.equal(decodeRuns(encodeRuns(outcomes)), outcomes, `round trip of ${outcomes.length} outcomes`);
  }

  const jobInput = jobInputFromCreateEvent('job_cd', { type: 'job.submit', at: 1_000, accountId: 'acct_1', spec: {} });
  const planned = stepActor(jobKind.machine, startActor(jobKind.machine, jobInput).snapshot, { type: 'job.planned', at: 2_000, taskCount: 10_000 } as { type: string });
  const full = persistSnapshot(planned.snapshot);
  const stored = compactState(jobKind, full);
  t.notOk('taskOutcomes' in stored.context);
  t.equal(stored.context.taskOutcomeRuns, '10000.');
  t.ok(JSON.stringify(stored).length < 2_000, 'a 10,000-task job stores in under 2 KB');
  t.same(expandState(jobKind, JSON.parse(JSON.stringify(stored)) as typeof stored), full, 'round trip through JSON is exact');
  t.same(expandState(jobKind, full), full, 'a snapshot stored in full loads as it is');
});
