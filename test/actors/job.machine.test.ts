import t from 'tap';
import type { JobInput } from '../../src/actors/job/job.events.js';
import { jobInputFromCreateEvent, jobKind, jobReadModel } from '../../src/actors/job/job.kind.js';
import { decideOutcome, type JobContext } from '../../src/actors/job/job.logic.js';
import { jobMachine } from '../../src/actors/job/job.machine.js';
import { MachineDriver, effectTypes, effectsOfKind, sendsOf } from '../helpers/machine-harness.js';

const JOB = 'job_20260312_143000_abc123';
const DEP1 = 'job_20260312_120000_dep001';
const DEP2 = 'job_20260312_120000_dep002';
const T0 = 1_700_000_000_000;
const MIN = 60_000;
const BILLING = { holdId: 'hold_1', holdMicros: 5_000_000, rateMicrosPerSecond: 100 };

function input(overrides: Partial<JobInput> = {}): JobInput {
  const base = jobInputFromCreateEvent(JOB, {
    type: 'job.submit',
    at: T0,
    accountId: 'acct_1',
    jobType: 'structured_runner',
    project: 'my-ml-project',
    spec: { payload: { x: 1 }, meta: { run: 7 } },
    tags: ['exp42'],
    timeoutS: 120,
  });
  if (!base) throw new Error('fixture input rejected');
  return { ...base, ...overrides };
}

function job(overrides: Partial<JobInput> = {}) {
  return new MachineDriver<JobContext>(jobMachine, input(overrides));
}

/** An unbilled job planned with `taskCount` tasks (queued.ready when it has no dependencies). */
function planned(taskCount: number, overrides: Partial<JobInput> = {}) {
  const d = job(overrides);
  if (d.context.billing) d.send({ type: 'job.hold_placed', at: T0 + 10, holdId: d.context.billing.holdId });
  d.send({ type: 'job.planned', at: T0 + 1000, taskCount });
  return d;
}

function runningJob(taskCount: number, overrides: Partial<JobInput> = {}) {
  const d = planned(taskCount, overrides);
  d.send({ type: 'job.task_started', at: T0 + 2000, taskId: `${JOB}.t0`, attemptId: `${JOB}.t0.a1` });
  return d;
}

/** Task `index`'s `job.task_finished`. */
function report(index: number, outcome: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'job.task_finished',
    at: T0 + 10_000 + index,
    taskId: `${JOB}.t${index}`,
    index,
    outcome,
    attempts: 1,
    runtimeMs: 10_000,
    resultQuality: null,
    error: outcome === 'succeeded' ? null : `task ${index} broke`,
    ...extra,
  };
}

function finish(d: MachineDriver<JobContext>, index: number, outcome: string, extra: Record<string, unknown> = {}) {
  return d.send(report(index, outcome, extra));
}

t.test('creation', async (t) => {
  t.test('an unbilled job without dependencies plans at once', async (t) => {
    const d = job();
    t.same(d.value, { planning: 'creating_tasks' });
    t.same(effectTypes(d.effects), ['effect:job.plan']);
    t.match(effectsOfKind(d.effects, 'job.plan'), [{ jobId: JOB, accountId: 'acct_1', jobType: 'structured_runner', blocked: false, spec: { payload: { x: 1 } } }]);
    t.equal(d.context.holdStatus, 'none');
  });

  t.test('a billed job asks its account for the hold first', async (t) => {
    const d = job({ billing: BILLING });
    t.same(d.value, { planning: 'awaiting_hold' });
    t.same(effectTypes(d.effects), ['send:account.place_hold']);
    t.same(sendsOf(d.effects, 'account.place_hold'), [
      { to: { kind: 'account', id: 'acct_1' }, event: { type: 'account.place_hold', holdId: 'hold_1', jobId: JOB, amountMicros: 5_000_000, expiresAt: null } },
    ]);
    t.equal(d.context.holdStatus, 'requested');
  });

  t.test('a job with dependencies registers with each and plans blocked tasks', async (t) => {
    const d = job({ dependsOn: [DEP1, DEP2, DEP1, JOB] });
    t.same(d.context.pendingDependencies, [DEP1, DEP2], 'deduplicated, never itself');
    t.same(sendsOf(d.effects, 'job.dependent_registered'), [
      { to: { kind: 'job', id: DEP1 }, event: { type: 'job.dependent_registered', jobId: JOB } },
      { to: { kind: 'job', id: DEP2 }, event: { type: 'job.dependent_registered', jobId: JOB } },
    ]);
    t.match(effectsOfKind(d.effects, 'job.plan'), [{ blocked: true }]);
  });

  t.test('inputFromCreateEvent: only job.submit with an account creates', async (t) => {
    t.equal(jobKind.inputFromCreateEvent(JOB, { type: 'job.cancel', at: T0, reason: 'x' }), undefined);
    t.equal(jobInputFromCreateEvent(JOB, { type: 'job.submit', at: T0 }), undefined);
    t.match(jobInputFromCreateEvent(JOB, { type: 'job.submit', at: T0, accountId: 'a', priority: 'urgent', reliabilityMode: 'nope' }), {
      jobType: 'structured_runner',
      priority: 'normal',
      reliabilityMode: 'best_effort',
      timeoutS: 600,
      billing: null,
      spec: {},
      tags: [],
    });
    t.match(jobInputFromCreateEvent(JOB, { type: 'job.submit', at: T0, accountId: 'a', billing: { holdId: 'h', holdMicros: 7, rateMicrosPerSecond: 2 } }), {
      billing: { holdId: 'h', holdMicros: 7, rateMicrosPerSecond: 2 },
    });
    t.equal(jobKind.routingKey(JOB), JOB);
  });
});

t.test('planning.awaiting_hold', async (t) => {
  t.test('hold_placed for another hold is ignored; ours → creating_tasks', async (t) => {
    const d = job({ billing: BILLING });
    d.send({ type: 'job.hold_placed', at: T0 + 5, holdId: 'hold_other' });
    t.same(d.value, { planning: 'awaiting_hold' });
    t.same(d.effects, []);
    d.send({ type: 'job.hold_placed', at: T0 + 6, holdId: 'hold_1' });
    t.same(d.value, { planning: 'creating_tasks' });
    t.equal(d.context.holdStatus, 'placed');
    t.same(effectTypes(d.effects), ['effect:job.plan']);
  });

  t.test('hold_rejected → failed before any task exists', async (t) => {
    const d = job({ billing: BILLING });
    t.same(d.send({ type: 'job.hold_rejected', at: T0 + 4, holdId: 'hold_other', reason: 'insufficient_funds' }), [], 'another hold: ignored');
    t.same(d.value, { planning: 'awaiting_hold' });
    d.send({ type: 'job.hold_rejected', at: T0 + 5, holdId: 'hold_1', reason: 'insufficient_funds', availableMicros: 1_000_000, requiredMicros: 5_000_000 });
    t.equal(d.value, 'failed');
    t.equal(d.context.status, 'failed');
    t.match(d.context.error, /estimated hold \$5\.00 exceeds the available \$1\.00/);
    t.match(d.context.recommendedAction, /quotes\/topup/);
    t.same(effectTypes(d.effects), ['cancelTimer:queue_timeout', 'cancelTimer:recover', 'effect:job.terminal'], 'no settle, no task cancel');
    t.match(effectsOfKind(d.effects, 'job.terminal'), [{ jobId: JOB, status: 'failed', tags: ['exp42'], tasks: { total: 0 } }]);
  });

  t.test('cancel while the hold is pending → cancelled; a hold placed later is released at once', async (t) => {
    const d = job({ billing: BILLING });
    d.send({ type: 'job.cancel', at: T0 + 5, reason: 'changed my mind' });
    t.equal(d.value, 'cancelled');
    t.equal(d.context.cancelReason, 'changed my mind');
    t.equal(sendsOf(d.effects, 'account.settle_hold').length, 0);
    d.send({ type: 'job.hold_placed', at: T0 + 6, holdId: 'hold_1' });
    t.same(sendsOf(d.effects, 'account.release_hold'), [{ to: { kind: 'account', id: 'acct_1' }, event: { type: 'account.release_hold', holdId: 'hold_1' } }]);
    t.equal(d.context.holdStatus, 'released');
    t.same(d.send({ type: 'job.hold_placed', at: T0 + 7, holdId: 'hold_1' }), [], 'released once');
  });

  t.test('dependency_failed while awaiting the hold → cancelled', async (t) => {
    const d = job({ billing: BILLING, dependsOn: [DEP1] });
    d.send({ type: 'job.dependency_failed', at: T0 + 5, jobId: DEP1, status: 'failed' });
    t.equal(d.value, 'cancelled');
    t.match(d.context.error, /dependency .*dep001 ended failed/);
  });
});

t.test('planning.creating_tasks', async (t) => {
  t.test('job.planned → queued.ready; queue timer at max(2 × timeout_s, 30 min)', async (t) => {
    const d = planned(3);
    t.same(d.value, { queued: 'ready' });
    t.equal(d.context.taskCount, 3);
    t.equal(d.context.taskOutcomes, '...');
    t.equal(d.context.queueDeadlineAt, T0 + 1000 + 30 * MIN);
    t.same(effectTypes(d.effects), ['scheduleTimer:queue_timeout'], 'no release: tasks were not blocked');
    const long = planned(1, { timeoutS: 3600 });
    t.equal(long.context.queueDeadlineAt, T0 + 1000 + 7200 * 1000);
  });

  t.test('an invalid plan is ignored', async (t) => {
    const d = job();
    d.send({ type: 'job.planned', at: T0 + 1000, taskCount: -1 });
    t.same(d.value, { planning: 'creating_tasks' });
  });

  t.test('job.planning_failed → failed', async (t) => {
    const d = job();
    d.send({ type: 'job.planning_failed', at: T0 + 1000, error: 'fan_out.by names a missing field' });
    t.equal(d.value, 'failed');
    t.equal(d.context.error, 'Planning failed: fan_out.by names a missing field');
  });

  t.test('cancel while planning; the late plan has its tasks cancelled', async (t) => {
    const d = job();
    d.send({ type: 'job.cancel', at: T0 + 500, reason: 'user' });
    t.equal(d.value, 'cancelled');
    t.equal(effectsOfKind(d.effects, 'job.cancel_tasks').length, 0, 'no task count yet');
    d.send({ type: 'job.planned', at: T0 + 1000, taskCount: 4 });
    t.equal(d.value, 'cancelled');
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), [{ jobId: JOB, taskCount: 4, requirements: null, reason: 'user', taskOutcomes: '' }]);
    t.same(d.send({ type: 'job.planned', at: T0 + 1001, taskCount: 4 }), [], 'only once');
  });

  t.test('task reports before job.planned are kept', async (t) => {
    const d = job();
    d.send({ type: 'job.task_started', at: T0 + 500, taskId: `${JOB}.t1`, attemptId: `${JOB}.t1.a1` });
    finish(d, 1, 'succeeded');
    t.same(d.value, { planning: 'creating_tasks' });
    t.equal(d.context.taskOutcomes, '.s');
    d.send({ type: 'job.planned', at: T0 + 1000, taskCount: 2 });
    t.equal(d.value, 'running', 'a task already started');
    t.equal(d.context.taskOutcomes, '.s');
  });
});

t.test('queued.waiting_dependencies', async (t) => {
  t.test('waits until every dependency completed, then releases the blocked tasks', async (t) => {
    const d = planned(5, { dependsOn: [DEP1, DEP2] });
    t.same(d.value, { queued: 'waiting_dependencies' });
    d.send({ type: 'job.dependency_completed', at: T0 + 2000, jobId: 'job_unrelated' });
    t.same(d.context.pendingDependencies, [DEP1, DEP2]);
    d.send({ type: 'job.dependency_completed', at: T0 + 2000, jobId: DEP1 });
    t.same(d.value, { queued: 'waiting_dependencies' });
    t.same(d.effects, []);
    d.send({ type: 'job.dependency_completed', at: T0 + 3000, jobId: DEP2 });
    t.same(d.value, { queued: 'ready' });
    t.same(effectsOfKind(d.effects, 'job.release_tasks'), [{ jobId: JOB, taskCount: 5, requirements: null, priority: 'normal' }]);
  });

  t.test('dependencies completed while planning release the tasks as soon as it is planned', async (t) => {
    const d = job({ dependsOn: [DEP1] });
    d.send({ type: 'job.dependency_completed', at: T0 + 500, jobId: DEP1 });
    d.send({ type: 'job.planned', at: T0 + 1000, taskCount: 2 });
    t.same(d.value, { queued: 'ready' });
    t.same(effectTypes(d.effects), ['scheduleTimer:queue_timeout', 'effect:job.release_tasks']);
  });

  t.test('dependency_failed → cancelled, tasks cancelled', async (t) => {
    const d = planned(2, { dependsOn: [DEP1] });
    d.send({ type: 'job.dependency_failed', at: T0 + 2000, jobId: DEP1, status: 'partial' });
    t.equal(d.value, 'cancelled');
    t.match(d.context.cancelReason, /ended partial/);
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), [{ jobId: JOB, taskCount: 2, requirements: null, reason: `dependency ${DEP1} ended partial`, taskOutcomes: '..' }]);
  });

  t.test('dependency_failed from a job that is not a dependency is ignored', async (t) => {
    const d = planned(2, { dependsOn: [DEP1] });
    d.send({ type: 'job.dependency_failed', at: T0 + 2000, jobId: DEP2, status: 'failed' });
    t.same(d.value, { queued: 'waiting_dependencies' });
  });
});

t.test('queued.ready', async (t) => {
  t.test('first job.task_started → running: queue timer off, recovery timer on', async (t) => {
    const d = runningJob(2);
    t.equal(d.value, 'running');
    t.equal(d.context.startedAt, T0 + 2000);
    t.same(effectTypes(d.effects), ['cancelTimer:queue_timeout', 'scheduleTimer:recover']);
    const recover = d.effects.find((e) => e.type === 'scheduleTimer');
    t.equal(recover?.type === 'scheduleTimer' && recover.params.dueAt, T0 + 2000 + 5 * MIN);
  });

  t.test('a finished task that reports its start (folded into its result) moves the job to running', async (t) => {
    const d = planned(2);
    finish(d, 0, 'succeeded', { startedAt: T0 + 1500 });
    t.equal(d.value, 'running');
    t.equal(d.context.startedAt, T0 + 1500, 'the start the task reported, not the report time');
    t.same(effectTypes(d.effects), ['cancelTimer:queue_timeout', 'scheduleTimer:recover']);
    finish(d, 1, 'succeeded', { startedAt: T0 + 1600 });
    t.equal(d.value, 'completed');
    t.equal(d.context.startedAt, T0 + 1500);
  });

  t.test('every task finishing in one step still records that the job ran', async (t) => {
    const d = planned(1);
    finish(d, 0, 'succeeded', { startedAt: T0 + 1500 });
    t.equal(d.value, 'completed');
    t.equal(d.context.startedAt, T0 + 1500);
  });

  t.test('tasks can finish without ever starting (e.g. start timeouts) → the job ends from queued', async (t) => {
    const d = planned(2);
    finish(d, 0, 'timed_out');
    t.same(d.value, { queued: 'ready' });
    finish(d, 1, 'failed');
    t.equal(d.value, 'failed');
    t.match(d.context.error, /All 2 tasks failed\. First error \(.*\.t0\): task 0 broke/);
  });

  t.test('queue timeout: asks for a capacity check first', async (t) => {
    const d = planned(2);
    d.send({ type: 'job.queue_timeout', at: T0 + 31 * MIN });
    t.same(d.value, { queued: 'ready' });
    t.same(effectsOfKind(d.effects, 'job.check_capacity'), [{ jobId: JOB }]);
  });

  t.test('queue timeout during a fleet-wide outage: looks again 5 minutes later', async (t) => {
    const d = planned(2);
    d.send({ type: 'job.queue_timeout', at: T0 + 31 * MIN, liveCapacity: false });
    t.same(d.value, { queued: 'ready' });
    t.same(d.effects.map((e) => e.params), [{ timerId: 'queue_timeout', dueAt: T0 + 36 * MIN, event: { type: 'job.queue_timeout' } }]);
    t.equal(d.context.queueDeadlineAt, T0 + 36 * MIN);
  });

  t.test('queue timeout with live capacity → cancelled', async (t) => {
    const d = planned(2);
    d.send({ type: 'job.queue_timeout', at: T0 + 31 * MIN, liveCapacity: true });
    t.equal(d.value, 'cancelled');
    t.equal(d.context.cancelReason, 'queue_timeout');
    t.match(d.context.error, /Queued longer than 1800s/);
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), [{ jobId: JOB, taskCount: 2, requirements: null, reason: 'queue_timeout', taskOutcomes: '..' }]);
  });

  t.test('cancel → cancelled', async (t) => {
    const d = planned(2);
    d.send({ type: 'job.cancel', at: T0 + 5000, reason: 'user' });
    t.equal(d.value, 'cancelled');
    t.equal(d.context.error, null, 'a user cancel is not an error');
    t.same(effectTypes(d.effects), ['cancelTimer:queue_timeout', 'cancelTimer:recover', 'effect:job.cancel_tasks', 'effect:job.terminal']);
  });

  t.test('a cancel only for jobs not started (project cancel-queued) spares a running job', async (t) => {
    const queued = planned(2);
    queued.send({ type: 'job.cancel', at: T0 + 5000, reason: 'cancel-queued', onlyIfNotStarted: true });
    t.equal(queued.value, 'cancelled', 'a queued job is cancelled');
    const running = runningJob(2);
    running.send({ type: 'job.cancel', at: T0 + 5000, reason: 'cancel-queued', onlyIfNotStarted: true });
    t.equal(running.value, 'running', 'a running job ignores it');
    running.send({ type: 'job.cancel', at: T0 + 6000, reason: 'user' });
    t.equal(running.value, 'cancelled', 'a plain cancel still ends it');
  });
});

t.test('running', async (t) => {
  t.test('all tasks succeed → completed; hold settled to runtime × rate; dependents told', async (t) => {
    const d = job({ billing: BILLING });
    d.send({ type: 'job.dependent_registered', at: T0 + 1, jobId: 'job_child' });
    d.send({ type: 'job.hold_placed', at: T0 + 10, holdId: 'hold_1' });
    d.send({ type: 'job.planned', at: T0 + 1000, taskCount: 2 });
    d.send({ type: 'job.task_started', at: T0 + 2000, taskId: `${JOB}.t0`, attemptId: `${JOB}.t0.a1` });
    finish(d, 0, 'succeeded', { resultQuality: 0.9 });
    t.equal(d.value, 'running');
    t.same(d.effects, []);
    finish(d, 1, 'succeeded', { resultQuality: 0.7, runtimeMs: 5_500 });
    t.equal(d.value, 'completed');
    t.equal(d.context.runtimeMs, 15_500);
    t.equal(d.context.chargedMicros, 1550, '15.5 s × 100 µ$/s');
    t.equal(d.context.holdStatus, 'settled');
    t.same(effectTypes(d.effects), [
      'cancelTimer:queue_timeout',
      'cancelTimer:recover',
      'send:account.settle_hold',
      'send:job.dependency_completed',
      'effect:job.terminal',
    ]);
    t.same(sendsOf(d.effects, 'account.settle_hold')[0]?.event, { type: 'account.settle_hold', holdId: 'hold_1', actualMicros: 1550 });
    t.same(sendsOf(d.effects, 'job.dependency_completed')[0], { to: { kind: 'job', id: 'job_child' }, event: { type: 'job.dependency_completed', jobId: JOB } });
    t.equal(d.context.error, null);
  });

  t.test('the charge never exceeds the hold', async (t) => {
    const d = runningJob(1, { billing: { holdId: 'h', holdMicros: 1000, rateMicrosPerSecond: 1_000_000 } });
    finish(d, 0, 'succeeded');
    t.equal(d.context.chargedMicros, 1000);
  });

  t.test('all succeeded but some low quality → partial', async (t) => {
    const d = runningJob(2);
    finish(d, 0, 'succeeded', { resultQuality: 0.2 });
    finish(d, 1, 'succeeded', { resultQuality: 1 });
    t.equal(d.value, 'partial');
    t.same(d.context.suspectTaskIds, [`${JOB}.t0`]);
    t.match(d.context.error, /1 of 2 tasks have result_quality below 0\.5/);
  });

  t.test('best_effort: some failed, some succeeded → partial', async (t) => {
    const d = runningJob(3);
    finish(d, 0, 'succeeded');
    finish(d, 1, 'failed');
    finish(d, 2, 'cancelled');
    t.equal(d.value, 'partial');
    t.match(d.context.error, /2 of 3 tasks did not succeed/);
    t.match(d.context.recommendedAction, /strict_complete/);
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), [], 'every task already finished');
  });

  t.test('best_effort: none succeeded → failed', async (t) => {
    const d = runningJob(2);
    finish(d, 0, 'failed');
    finish(d, 1, 'timed_out');
    t.equal(d.value, 'failed');
    t.same(d.context.counts, { succeeded: 0, failed: 1, cancelled: 0, timedOut: 1 });
  });

  t.test('strict_complete fails fast on the first missing task and cancels the rest', async (t) => {
    const d = runningJob(4, { reliabilityMode: 'strict_complete' });
    finish(d, 0, 'succeeded');
    t.equal(d.value, 'running');
    finish(d, 2, 'failed');
    t.equal(d.value, 'failed');
    t.match(d.context.error, /strict_complete: 1 of 4 tasks did not succeed; the remaining tasks were cancelled/);
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), [{ jobId: JOB, taskCount: 4, requirements: null, reason: 'failed', taskOutcomes: 's.f.' }]);
  });

  t.test('strict_complete: a failure reported last cancels nothing and says so', async (t) => {
    const d = runningJob(3, { reliabilityMode: 'strict_complete' });
    finish(d, 0, 'succeeded');
    finish(d, 2, 'succeeded');
    finish(d, 1, 'failed');
    t.equal(d.value, 'failed');
    t.match(d.context.error, /^strict_complete: 1 of 3 tasks did not succeed\./);
    t.notMatch(d.context.error, /cancelled/);
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), []);
  });

  t.test('strict_complete with every task succeeded → completed', async (t) => {
    const d = runningJob(2, { reliabilityMode: 'strict_complete' });
    finish(d, 0, 'succeeded');
    finish(d, 1, 'succeeded');
    t.equal(d.value, 'completed');
  });

  t.test('a task reported twice, or outside the plan, is counted once / not at all', async (t) => {
    const d = runningJob(3);
    finish(d, 0, 'succeeded');
    finish(d, 0, 'succeeded');
    finish(d, 0, 'failed');
    finish(d, 7, 'succeeded');
    t.same(d.context.counts, { succeeded: 1, failed: 0, cancelled: 0, timedOut: 0 });
    t.equal(d.context.taskOutcomes, 's..');
    t.equal(d.value, 'running');
  });

  t.test('job.tasks_finished (reports folded by the runtime) counts like the reports one by one', async (t) => {
    const d = planned(4);
    const folded = jobKind.batchedEvents?.fold([
      report(2, 'succeeded', { startedAt: T0 + 1700, runtimeMs: 1_000, resultQuality: 0.2 }),
      report(0, 'failed', { startedAt: T0 + 1500, runtimeMs: 1_000 }),
      report(2, 'failed'),
      report(9, 'succeeded'),
    ] as never);
    t.equal(folded?.type, 'job.tasks_finished');
    t.equal(folded?.at, T0 + 10_009, 'stamped with the last report');
    d.send(folded as never);
    t.equal(d.value, 'running', 'a folded start moves the job to running');
    t.equal(d.context.startedAt, T0 + 1500, 'the earliest start reported');
    t.equal(d.context.taskOutcomes, 'f.s.', 'a repeated index counts once; one outside the plan not at all');
    t.same(d.context.counts, { succeeded: 1, failed: 1, cancelled: 0, timedOut: 0 });
    t.equal(d.context.runtimeMs, 2_000);
    t.equal(d.context.lowQualityCount, 1);
    t.same(d.context.suspectTaskIds, [`${JOB}.t2`]);
    t.same(d.context.firstTaskError, { taskId: `${JOB}.t0`, error: 'task 0 broke' });

    d.send({ type: 'job.tasks_finished', at: T0 + 20_000, reports: [report(1, 'succeeded', { resultQuality: 0.2 }), report(3, 'succeeded', { resultQuality: 0.2 })] });
    t.equal(d.value, 'partial', 'the step that finishes the last tasks decides the outcome');
    t.equal(d.context.finishedAt, T0 + 20_000);
    t.same(d.context.counts, { succeeded: 3, failed: 1, cancelled: 0, timedOut: 0 });
  });

  t.test('job.recover re-arms itself and asks for a reconcile', async (t) => {
    const d = runningJob(3);
    finish(d, 0, 'succeeded');
    d.send({ type: 'job.recover', at: T0 + 5 * MIN });
    t.equal(d.value, 'running');
    t.same(effectTypes(d.effects), ['scheduleTimer:recover', 'effect:job.reconcile_tasks']);
    t.same(effectsOfKind(d.effects, 'job.reconcile_tasks'), [{ jobId: JOB, taskCount: 3, finishedCount: 1, requirements: null }]);
  });

  t.test('cancel → cancelled: unfinished tasks cancelled, hold settled for the runtime so far', async (t) => {
    const d = runningJob(3, { billing: BILLING });
    finish(d, 0, 'succeeded');
    d.send({ type: 'job.cancel', at: T0 + 20_000, reason: 'enough' });
    t.equal(d.value, 'cancelled');
    t.same(effectsOfKind(d.effects, 'job.cancel_tasks'), [{ jobId: JOB, taskCount: 3, requirements: null, reason: 'enough', taskOutcomes: 's..' }]);
    t.same(sendsOf(d.effects, 'account.settle_hold')[0]?.event, { type: 'account.settle_hold', holdId: 'hold_1', actualMicros: 1000 });
  });

  t.test('queue and dependency events no longer apply while running', async (t) => {
    const d = runningJob(2, { dependsOn: [] });
    t.same(d.send({ type: 'job.queue_timeout', at: T0 + 40 * MIN, liveCapacity: true }), []);
    t.same(d.send({ type: 'job.dependency_failed', at: T0 + 40 * MIN, jobId: DEP1, status: 'failed' }), []);
    t.equal(d.value, 'running');
  });

  t.test('a job planned with zero tasks completes at once', async (t) => {
    const d = planned(0);
    t.equal(d.value, 'completed');
  });
});

t.test('terminal states', async (t) => {
  const makers: Record<string, () => MachineDriver<JobContext>> = {
    completed: () => {
      const d = runningJob(1);
      finish(d, 0, 'succeeded');
      return d;
    },
    partial: () => {
      const d = runningJob(2);
      finish(d, 0, 'succeeded');
      finish(d, 1, 'failed');
      return d;
    },
    failed: () => {
      const d = runningJob(1);
      finish(d, 0, 'failed');
      return d;
    },
    cancelled: () => {
      const d = runningJob(2);
      d.send({ type: 'job.cancel', at: T0 + 3000, reason: 'user' });
      return d;
    },
  };
  const later = [
    { type: 'job.task_finished', at: T0 + 1e6, taskId: `${JOB}.t1`, index: 1, outcome: 'succeeded', attempts: 1, runtimeMs: 5, resultQuality: null, error: null },
    { type: 'job.task_started', at: T0 + 1e6, taskId: `${JOB}.t1`, attemptId: `${JOB}.t1.a2` },
    { type: 'job.cancel', at: T0 + 1e6, reason: 'again' },
    { type: 'job.queue_timeout', at: T0 + 1e6, liveCapacity: true },
    { type: 'job.recover', at: T0 + 1e6 },
    { type: 'job.dependency_completed', at: T0 + 1e6, jobId: DEP1 },
    { type: 'job.dependency_failed', at: T0 + 1e6, jobId: DEP1, status: 'failed' },
    { type: 'job.hold_rejected', at: T0 + 1e6, holdId: 'hold_1', reason: 'x' },
    { type: 'job.hold_placed', at: T0 + 1e6, holdId: 'hold_1' },
    { type: 'job.planned', at: T0 + 1e6, taskCount: 9 },
    { type: 'job.planning_failed', at: T0 + 1e6, error: 'x' },
  ];
  for (const [state, make] of Object.entries(makers)) {
    t.test(state, async (t) => {
      const d = make();
      t.equal(d.value, state);
      t.equal(d.context.status, state);
      t.ok(d.context.finishedAt);
      const before = JSON.stringify(d.context);
      for (const event of later) {
        t.same(d.send(event), [], `${state} ignores ${event.type}`);
        t.equal(d.value, state);
      }
      t.equal(JSON.stringify(d.context), before, 'context unchanged');
      d.send({ type: 'job.dependent_registered', at: T0 + 2e6, jobId: 'job_late' });
      const answer = state === 'completed' ? { type: 'job.dependency_completed', jobId: JOB } : { type: 'job.dependency_failed', jobId: JOB, status: state };
      t.same(d.effects, [{ type: 'send', params: { to: { kind: 'job', id: 'job_late' }, event: answer } }], 'a late dependent is answered at once');
    });
  }
});

t.test('a dependent registered while running is remembered once', async (t) => {
  const d = runningJob(1);
  d.send({ type: 'job.dependent_registered', at: T0 + 3000, jobId: 'job_child' });
  d.send({ type: 'job.dependent_registered', at: T0 + 3001, jobId: 'job_child' });
  t.same(d.context.dependents, ['job_child']);
  t.same(d.effects, []);
  finish(d, 0, 'failed');
  t.same(sendsOf(d.effects, 'job.dependency_failed'), [{ to: { kind: 'job', id: 'job_child' }, event: { type: 'job.dependency_failed', jobId: JOB, status: 'failed' } }]);
});

t.test('decideOutcome is undecided until planned', async (t) => {
  const d = job();
  t.equal(decideOutcome(d.context), null);
});

t.test('persist → JSON → resolveState → continue', async (t) => {
  const d = planned(2, { dependsOn: [DEP1], billing: BILLING });
  t.strictSame(d.persisted().context, d.context, 'context is plain JSON: nothing lost or changed by JSON');
  t.same(d.persisted().value, { queued: 'waiting_dependencies' });
  d.roundTrip();
  d.send({ type: 'job.dependency_completed', at: T0 + 2000, jobId: DEP1 });
  t.same(d.value, { queued: 'ready' });
  t.same(effectsOfKind(d.effects, 'job.release_tasks'), [{ jobId: JOB, taskCount: 2, requirements: null, priority: 'normal' }]);
  d.send({ type: 'job.task_started', at: T0 + 3000, taskId: `${JOB}.t0`, attemptId: `${JOB}.t0.a1` });
  finish(d, 0, 'succeeded');
  d.roundTrip();
  t.equal(d.value, 'running');
  t.equal(d.context.taskOutcomes, 's.');
  finish(d, 1, 'succeeded');
  t.equal(d.value, 'completed');
  d.roundTrip();
  t.equal(d.status, 'active', 'terminal jobs stay active to answer late messages');
  d.send({ type: 'job.dependent_registered', at: T0 + 1e6, jobId: 'job_late' });
  t.equal(sendsOf(d.effects, 'job.dependency_completed').length, 1);
});

t.test('read model', async (t) => {
  const d = runningJob(4, { billing: BILLING });
  finish(d, 0, 'succeeded', { resultQuality: 0.3 });
  finish(d, 1, 'failed');
  const view = jobReadModel(d.persisted() as never, JOB) as Record<string, unknown>;
  t.match(view, {
    id: JOB,
    status: 'running',
    type: 'structured_runner',
    project: 'my-ml-project',
    payload: { x: 1 },
    meta: { run: 7 },
    tags: ['exp42'],
    reliability_mode: 'best_effort',
    error: null,
    summary: {
      tasks: { total: 4, pending: 2, finished: 2, succeeded: 1, failed: 1, cancelled: 0, timed_out: 0 },
      progress: 0.5,
      quality: { mean_quality: 0.3, suspect_count: 1, suspect_task_ids: [`${JOB}.t0`] },
      billing_hold: { hold_id: 'hold_1', status: 'placed', estimated_hold_usd: 5, charged_usd: null },
    },
    created_at: new Date(T0).toISOString(),
  });
  t.equal((jobReadModel(job().persisted() as never, JOB) as Record<string, unknown>)['status'], 'planning');
  t.equal((jobReadModel(planned(1).persisted() as never, JOB) as Record<string, unknown>)['status'], 'queued');
});
