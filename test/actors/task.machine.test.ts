import t from 'tap';
import { taskKind, taskInputFromCreateEvent, taskReadModel } from '../../src/actors/task/task.kind.js';
import { REQUEUE_CHECK_MS, retryBackoffMs, type TaskContext } from '../../src/actors/task/task.logic.js';
import { taskMachine } from '../../src/actors/task/task.machine.js';
import type { TaskInput } from '../../src/actors/task/task.events.js';
import { MachineDriver, effectTypes, effectsOfKind, sendsOf } from '../helpers/machine-harness.js';

const JOB = 'job_20260312_143000_abc123';
const TASK = `${JOB}.t17`;
const A1 = `${TASK}.a1`;
const A2 = `${TASK}.a2`;
const T0 = 1_700_000_000_000;

function input(overrides: Partial<TaskInput> = {}): TaskInput {
  const base = taskInputFromCreateEvent(TASK, {
    type: 'task.create',
    at: T0,
    jobId: JOB,
    index: 17,
    payload: { model: 'a' },
    requirements: { cpu: 2, memory_mb: 1024 },
    timeoutS: 60,
    maxRetries: 1,
  });
  if (!base) throw new Error('fixture input rejected');
  return { ...base, ...overrides };
}

function task(overrides: Partial<TaskInput> = {}) {
  return new MachineDriver<TaskContext>(taskMachine, input(overrides));
}

/** A task whose first attempt is dispatched to w1 at T0+1s. */
function dispatched(overrides: Partial<TaskInput> = {}) {
  const d = task(overrides);
  d.send({ type: 'task.dispatched', at: T0 + 1000, attemptId: A1, workerId: 'w1' });
  return d;
}

/** …and started at T0+2s. */
function running(overrides: Partial<TaskInput> = {}) {
  const d = dispatched(overrides);
  d.send({ type: 'task.started', at: T0 + 2000, attemptId: A1 });
  return d;
}

function finishedEvent(d: MachineDriver<TaskContext>) {
  const sent = sendsOf(d.effects, 'job.task_finished');
  return sent.length === 1 ? sent[0] : undefined;
}

t.test('creation', async (t) => {
  t.test('an unblocked task starts in pending.ready and asks to be enqueued', async (t) => {
    const d = task();
    t.same(d.value, { pending: 'ready' });
    t.equal(d.context.attemptId, A1);
    t.equal(d.context.attempt, 1);
    t.same(effectsOfKind(d.effects, 'task.enqueue'), [
      {
        taskId: TASK,
        jobId: JOB,
        attemptId: A1,
        requirements: { cpu: 2, memory_mb: 1024, storage_gb: 1, gpu_count: 0, gpu_memory_mb: 0, profile: 'cpu' },
        priority: 'normal',
        createdAt: T0,
      },
    ]);
  });

  t.test('a blocked task waits in pending.blocked and declares nothing', async (t) => {
    const d = task({ blocked: true });
    t.same(d.value, { pending: 'blocked' });
    t.same(d.effects, []);
  });

  t.test('inputFromCreateEvent: only task.create creates, and only under its own job id', async (t) => {
    t.equal(taskKind.inputFromCreateEvent(TASK, { type: 'task.started', at: T0, attemptId: A1 }), undefined);
    t.equal(taskInputFromCreateEvent('not-a-task-id', { type: 'task.create', at: T0, jobId: JOB, index: 1 }), undefined);
    t.equal(taskInputFromCreateEvent(TASK, { type: 'task.create', at: T0, jobId: 'job_other', index: 17 }), undefined);
    t.equal(taskInputFromCreateEvent(TASK, { type: 'task.create', at: T0, jobId: JOB, index: 3 }), undefined);
    const defaults = taskInputFromCreateEvent(TASK, { type: 'task.create', at: T0, jobId: JOB, index: 17, priority: 'urgent' });
    t.match(defaults, { timeoutS: 600, graceS: 30, startTimeoutS: 900, maxRetries: 0, priority: 'normal', blocked: false, payload: null });
    const gpu = taskInputFromCreateEvent(TASK, { type: 'task.create', at: T0, jobId: JOB, index: 17, requirements: { profile: 'gpu' } });
    t.equal(gpu?.requirements.gpuCount, 1, 'the gpu profile implies one GPU');
  });

  t.test('routes by its job id', async (t) => {
    t.equal(taskKind.routingKey(TASK), JOB);
    t.equal(taskKind.kind, 'task');
  });
});

t.test('pending.blocked', async (t) => {
  t.test('task.release → ready, enqueue', async (t) => {
    const d = task({ blocked: true });
    d.send({ type: 'task.release', at: T0 + 5 });
    t.same(d.value, { pending: 'ready' });
    t.equal(d.context.blocked, false);
    t.same(effectTypes(d.effects), ['effect:task.enqueue', 'scheduleTimer:requeue']);
  });

  t.test('a dispatch cannot reach a blocked task', async (t) => {
    const d = task({ blocked: true });
    d.send({ type: 'task.dispatched', at: T0 + 5, attemptId: A1, workerId: 'w1' });
    t.same(d.value, { pending: 'blocked' });
    t.same(d.effects, []);
  });

  t.test('task.cancel → cancelled, the job hears it', async (t) => {
    const d = task({ blocked: true });
    d.send({ type: 'task.cancel', at: T0 + 5, reason: 'dependency failed' });
    t.equal(d.value, 'cancelled');
    t.equal(d.status, 'done');
    t.equal(d.context.cancelReason, 'dependency failed');
    t.same(effectTypes(d.effects), ['send:job.task_finished']);
    t.match(finishedEvent(d), { to: { kind: 'job', id: JOB }, event: { taskId: TASK, index: 17, outcome: 'cancelled', attempts: 0 } });
  });
});

t.test('dispatched on creation (task.create naming the worker)', async (t) => {
  const created = taskInputFromCreateEvent(TASK, { type: 'task.create', at: T0 + 9_000, jobId: JOB, index: 17, dispatchTo: 'w1', createdAt: T0 });
  if (!created) throw new Error('create rejected');
  t.same(created.dispatchOnCreate, { workerId: 'w1', at: T0 + 9_000 }, 'dispatched at the event time');
  const d = new MachineDriver<TaskContext>(taskMachine, created);
  t.equal(d.value, 'dispatched', 'one step from nothing to dispatched');
  t.equal(d.context.workerId, 'w1');
  t.equal(d.context.dispatchOnCreate, null, 'spent');
  t.equal(d.context.createdAt, T0, '`createdAt` of the event (its job\'s), not its `at`');
  t.same(d.context.attempts.map((a) => [a.attemptId, a.workerId, a.dispatchedAt, a.outcome]), [[A1, 'w1', T0 + 9_000, 'active']]);
  t.same(effectTypes(d.effects), ['effect:task.dispatch', 'scheduleTimer:attempt'], 'the same effects as a task.dispatched');
  const timer = d.effects.find((e) => e.type === 'scheduleTimer') as { params: { dueAt: number } } | undefined;
  t.equal(timer?.params.dueAt, T0 + 9_000 + d.context.startTimeoutS * 1000, 'start deadline from the dispatch time');
  const dispatch = d.effects.find((e) => e.type === 'effect') as { params: { data: Record<string, unknown> } } | undefined;
  t.match(dispatch?.params.data, { taskId: TASK, attemptId: A1, workerId: 'w1', attempt: 1 });

  d.send({ type: 'task.succeeded', at: T0 + 9_500, attemptId: A1, result: { ok: true }, startedAt: T0 + 9_100 });
  t.equal(d.value, 'succeeded', 'and runs on like any dispatched task');

  const plain = taskInputFromCreateEvent(TASK, { type: 'task.create', at: T0, jobId: JOB, index: 17 });
  t.equal(plain?.dispatchOnCreate, null, 'no dispatchTo, no dispatch on creation');
});

t.test('pending.ready', async (t) => {
  t.test('task.dispatched for the expected attempt → dispatched', async (t) => {
    const d = dispatched();
    t.equal(d.value, 'dispatched');
    t.equal(d.context.workerId, 'w1');
    t.match(d.context.attempts, [{ attemptId: A1, workerId: 'w1', dispatchedAt: T0 + 1000, startedAt: null, outcome: 'active' }]);
    // The worker hears of it from the controller that sends the dispatch (worker.allocations_changed), not from the task.
    t.same(effectTypes(d.effects), ['cancelTimer:requeue', 'effect:task.dispatch', 'scheduleTimer:attempt'], 'no more requeueing');
    t.match(effectsOfKind(d.effects, 'task.dispatch'), [{ attemptId: A1, workerId: 'w1', payload: { model: 'a' }, timeoutS: 60, graceS: 30 }]);
    const timer = d.effects.find((e) => e.type === 'scheduleTimer');
    t.same(timer?.params, { timerId: 'attempt', dueAt: T0 + 1000 + 900_000, event: { type: 'task.timeout', attemptId: A1 } });
  });

  t.test('a dispatch naming another attempt id is ignored', async (t) => {
    const d = task();
    d.send({ type: 'task.dispatched', at: T0 + 1, attemptId: A2, workerId: 'w1' });
    t.same(d.value, { pending: 'ready' });
    t.same(d.effects, []);
    t.equal(d.context.workerId, null);
  });

  t.test('task.release on a ready task changes nothing', async (t) => {
    const d = task();
    d.send({ type: 'task.release', at: T0 + 1 });
    t.same(d.value, { pending: 'ready' });
    t.same(d.effects, [], 'no second enqueue');
  });

  t.test('waiting, it enqueues its attempt again every REQUEUE_CHECK_MS', async (t) => {
    const d = task();
    const armed = (effects: typeof d.effects) => effects.filter((e) => e.type === 'scheduleTimer').map((e) => e.params);
    t.same(armed(d.effects), [{ timerId: 'requeue', dueAt: T0 + REQUEUE_CHECK_MS, event: { type: 'task.requeue_due', attemptId: A1 } }], 'armed on creation, from the creation time');
    d.send({ type: 'task.requeue_due', at: T0 + REQUEUE_CHECK_MS, attemptId: A1 });
    t.same(d.value, { pending: 'ready' });
    // Re-entered: the exit's cancel comes first; the runtime folds a cancel and a schedule of one timer into the schedule.
    t.same(effectTypes(d.effects), ['cancelTimer:requeue', 'effect:task.enqueue', 'scheduleTimer:requeue'], 'enqueued again and re-armed');
    t.same(armed(d.effects), [{ timerId: 'requeue', dueAt: T0 + 2 * REQUEUE_CHECK_MS, event: { type: 'task.requeue_due', attemptId: A1 } }]);
    t.match(effectsOfKind(d.effects, 'task.enqueue'), [{ attemptId: A1, createdAt: T0 }], 'the same queue member as before');

    d.send({ type: 'task.requeue_due', at: T0 + 2 * REQUEUE_CHECK_MS, attemptId: A2 });
    t.same(d.effects, [], 'a requeue for another attempt is ignored');

    d.send({ type: 'task.dispatched', at: T0 + 2 * REQUEUE_CHECK_MS + 1, attemptId: A1, workerId: 'w1' });
    t.equal(d.value, 'dispatched');
    d.send({ type: 'task.requeue_due', at: T0 + 3 * REQUEUE_CHECK_MS, attemptId: A1 });
    t.equal(d.value, 'dispatched', 'a late requeue changes nothing once dispatched');
    t.same(d.effects, []);
  });

  t.test('task.cancel → cancelled, dequeued', async (t) => {
    const d = task();
    d.send({ type: 'task.cancel', at: T0 + 1, reason: 'user' });
    t.equal(d.value, 'cancelled');
    t.same(effectTypes(d.effects), ['cancelTimer:requeue', 'effect:task.dequeue', 'send:job.task_finished']);
    t.same(effectsOfKind(d.effects, 'task.dequeue'), [
      { taskId: TASK, attemptId: A1, requirements: { cpu: 2, memory_mb: 1024, storage_gb: 1, gpu_count: 0, gpu_memory_mb: 0, profile: 'cpu' } },
    ]);
  });
});

t.test('dispatched', async (t) => {
  t.test('task.started → running: run deadline replaces the start deadline, job told', async (t) => {
    const d = running();
    t.equal(d.value, 'running');
    t.equal(d.context.firstStartedAt, T0 + 2000);
    t.equal(d.context.attempts[0]?.startedAt, T0 + 2000);
    t.same(effectTypes(d.effects), ['scheduleTimer:attempt', 'send:job.task_started']);
    const timer = d.effects.find((e) => e.type === 'scheduleTimer');
    t.equal(timer?.type === 'scheduleTimer' && timer.params.dueAt, T0 + 2000 + (60 + 30) * 1000);
    t.match(sendsOf(d.effects, 'job.task_started'), [{ to: { kind: 'job', id: JOB }, event: { taskId: TASK, attemptId: A1 } }]);
  });

  t.test('task.started for another attempt is ignored', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.started', at: T0 + 2000, attemptId: A2 });
    t.equal(d.value, 'dispatched');
    t.same(d.effects, []);
  });

  t.test('a result carrying its folded start records the start as task.started would', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.succeeded', at: T0 + 3000, attemptId: A1, result: { score: 1 }, startedAt: T0 + 1200 });
    t.equal(d.value, 'succeeded');
    t.match(d.context.attempts, [{ attemptId: A1, startedAt: T0 + 1200, endedAt: T0 + 3000, outcome: 'succeeded' }]);
    t.equal(d.context.firstStartedAt, T0 + 1200);
    t.equal(d.context.runtimeMs, 1800, 'runtime from the folded start');
    t.same(effectTypes(d.effects), ['cancelTimer:attempt', 'send:job.task_finished']);
    t.match(finishedEvent(d)?.event, { outcome: 'succeeded', startedAt: T0 + 1200, runtimeMs: 1800 });
  });

  t.test('a failure carrying its folded start retries with the start on the failed attempt', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.failed', at: T0 + 3000, attemptId: A1, exitCode: 1, error: 'boom', failureKind: 'exit_code', startedAt: T0 + 1500 });
    t.same(d.value, { pending: 'backoff' });
    t.match(d.context.attempts, [{ attemptId: A1, startedAt: T0 + 1500, outcome: 'failed' }]);
    t.equal(d.context.firstStartedAt, T0 + 1500);
    t.equal(d.context.runtimeMs, 1500);
  });

  t.test('a folded start never overwrites a start already recorded', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.started', at: T0 + 1100, attemptId: A1 });
    d.send({ type: 'task.succeeded', at: T0 + 3000, attemptId: A1, result: {}, startedAt: T0 + 1900 });
    t.match(d.context.attempts, [{ startedAt: T0 + 1100 }]);
    t.equal(d.context.firstStartedAt, T0 + 1100);
  });

  t.test('a result may arrive before started (the started message was overtaken)', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.succeeded', at: T0 + 3000, attemptId: A1, result: { score: 1 } });
    t.equal(d.value, 'succeeded');
    t.equal(d.context.runtimeMs, 0, 'never started: no runtime billed');
    t.same(effectTypes(d.effects), ['cancelTimer:attempt', 'send:job.task_finished']);
  });

  t.test('task.failed with retries left → pending.backoff', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.failed', at: T0 + 3000, attemptId: A1, exitCode: null, error: 'preflight: no runtime', failureKind: 'preflight' });
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.attemptId, A2);
  });

  t.test('start deadline with retries left → backoff; kill and release the worker', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.timeout', at: T0 + 901_000, attemptId: A1 });
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.failureKind, 'start_timeout');
    t.match(d.context.attempts, [{ attemptId: A1, outcome: 'timed_out', failureKind: 'start_timeout' }]);
    t.same(effectTypes(d.effects), ['effect:task.kill', 'send:worker.task_released', 'scheduleTimer:retry']);
    t.same(effectsOfKind(d.effects, 'task.kill'), [{ taskId: TASK, attemptId: A1, workerId: 'w1', reason: 'timeout' }]);
  });

  t.test('start deadline without retries → timed_out', async (t) => {
    const d = dispatched({ maxRetries: 0 });
    d.send({ type: 'task.timeout', at: T0 + 901_000, attemptId: A1 });
    t.equal(d.value, 'timed_out');
    t.same(effectTypes(d.effects), ['effect:task.kill', 'send:worker.task_released', 'send:job.task_finished']);
    t.match(finishedEvent(d)?.event, { outcome: 'timed_out', error: /did not start within 900s/ });
  });

  t.test('a stale attempt timer is ignored', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.timeout', at: T0 + 901_000, attemptId: `${TASK}.a0` });
    t.equal(d.value, 'dispatched');
    t.same(d.effects, []);
  });

  t.test('task.worker_lost for the current worker with retries left → backoff, no release', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.worker_lost', at: T0 + 5000, workerId: 'w1' });
    t.same(d.value, { pending: 'backoff' });
    t.same(effectTypes(d.effects), ['cancelTimer:attempt', 'scheduleTimer:retry']);
    t.match(d.context.attempts, [{ outcome: 'worker_lost', failureKind: 'worker_lost' }]);
  });

  t.test('task.worker_lost for another worker, or naming another attempt, is ignored', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.worker_lost', at: T0 + 5000, workerId: 'w9' });
    t.equal(d.value, 'dispatched');
    t.same(d.effects, []);
    d.send({ type: 'task.worker_lost', at: T0 + 5000, workerId: 'w1', attemptId: `${TASK}.a0` });
    t.equal(d.value, 'dispatched');
    d.send({ type: 'task.worker_lost', at: T0 + 5000, workerId: 'w1', attemptId: A1 });
    t.same(d.value, { pending: 'backoff' }, 'naming the current attempt counts');
  });

  t.test('task.cancel → cancelled: kill, disarm, release, tell the job', async (t) => {
    const d = dispatched();
    d.send({ type: 'task.cancel', at: T0 + 5000, reason: 'user' });
    t.equal(d.value, 'cancelled');
    t.same(effectTypes(d.effects), ['effect:task.kill', 'cancelTimer:attempt', 'send:worker.task_released', 'send:job.task_finished']);
    t.same(effectsOfKind(d.effects, 'task.kill'), [{ taskId: TASK, attemptId: A1, workerId: 'w1', reason: 'cancelled' }]);
    t.match(d.context.attempts, [{ outcome: 'cancelled', endedAt: T0 + 5000 }]);
    t.equal(d.context.workerId, null);
  });
});

t.test('running', async (t) => {
  t.test('task.progress for the current attempt is kept; others are ignored', async (t) => {
    const d = running();
    d.send({ type: 'task.progress', at: T0 + 3000, attemptId: A1, progress: { percent: 40 }, outputTail: 'epoch 4' });
    t.equal(d.value, 'running');
    t.same(d.context.latestProgress, { percent: 40 });
    t.equal(d.context.outputTail, 'epoch 4');
    t.same(d.effects, []);
    d.send({ type: 'task.progress', at: T0 + 3000, attemptId: A2, progress: { percent: 99 } });
    t.same(d.context.latestProgress, { percent: 40 });
  });

  t.test('task.succeeded → succeeded with result, quality and runtime; the job hears once', async (t) => {
    const d = running();
    d.send({
      type: 'task.succeeded',
      at: T0 + 12_000,
      attemptId: A1,
      result: { score: 0.9 },
      exitCode: 0,
      resultQuality: 0.4,
      resultWarnings: ['score below expected'],
    });
    t.equal(d.value, 'succeeded');
    t.equal(d.status, 'done');
    t.same(d.context.result, { score: 0.9 });
    t.equal(d.context.runtimeMs, 10_000);
    t.equal(d.context.finishedAt, T0 + 12_000);
    // The agent's result: the controller that heard it releases the worker allocation.
    t.same(effectTypes(d.effects), ['cancelTimer:attempt', 'send:job.task_finished']);
    t.same(finishedEvent(d)?.event, {
      type: 'job.task_finished',
      taskId: TASK,
      index: 17,
      outcome: 'succeeded',
      attempts: 1,
      runtimeMs: 10_000,
      startedAt: T0 + 2000,
      resultQuality: 0.4,
      error: null,
    });
  });

  t.test('task.failed without retries → failed, error tail kept', async (t) => {
    const d = running({ maxRetries: 0 });
    const longError = 'x'.repeat(5000) + 'Traceback: boom';
    d.send({ type: 'task.failed', at: T0 + 4000, attemptId: A1, exitCode: 1, error: longError, failureKind: 'exit_code' });
    t.equal(d.value, 'failed');
    t.equal(d.context.error?.length, 1000);
    t.ok(d.context.error?.endsWith('Traceback: boom'), 'the tail, not the head');
    t.equal(d.context.exitCode, 1);
    t.match(finishedEvent(d)?.event, { outcome: 'failed', attempts: 1, runtimeMs: 2000 });
  });

  t.test('an agent-reported timeout without retries → timed_out, like the controller deadline', async (t) => {
    const d = running({ maxRetries: 0 });
    d.send({ type: 'task.failed', at: T0 + 4000, attemptId: A1, exitCode: null, error: 'killed after timeout_s', failureKind: 'timeout' });
    t.equal(d.value, 'timed_out');
    t.equal(d.context.attempts[0]?.outcome, 'timed_out', 'the attempt is recorded as timed out');
    t.match(finishedEvent(d)?.event, { outcome: 'timed_out', attempts: 1 });
  });

  t.test('an agent-reported timeout with retries left backs off and retries', async (t) => {
    const d = running({ maxRetries: 1 });
    d.send({ type: 'task.failed', at: T0 + 4000, attemptId: A1, exitCode: null, error: 'killed after timeout_s', failureKind: 'timeout' });
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.attempts[0]?.outcome, 'timed_out');
  });

  t.test('a non-retryable failure ends the task even with retries left', async (t) => {
    const d = running({ maxRetries: 3 });
    d.send({ type: 'task.failed', at: T0 + 4000, attemptId: A1, exitCode: 2, error: 'bad payload', failureKind: 'result_invalid', retryable: false });
    t.equal(d.value, 'failed');
  });

  t.test('a failure from a stale attempt is ignored', async (t) => {
    const d = running();
    d.send({ type: 'task.failed', at: T0 + 4000, attemptId: `${TASK}.a0`, exitCode: 1, error: 'old', failureKind: 'exit_code' });
    t.equal(d.value, 'running');
    t.same(d.effects, []);
  });

  t.test('run deadline with retries → backoff (kill, release, retry timer at 2 s)', async (t) => {
    const d = running();
    d.send({ type: 'task.timeout', at: T0 + 92_000, attemptId: A1 });
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.failureKind, 'timeout');
    t.equal(d.context.runtimeMs, 90_000);
    t.equal(d.context.retryDueAt, T0 + 94_000);
    t.same(effectTypes(d.effects), ['effect:task.kill', 'send:worker.task_released', 'scheduleTimer:retry']);
    const retry = d.effects.find((e) => e.type === 'scheduleTimer');
    t.same(retry?.params, { timerId: 'retry', dueAt: T0 + 94_000, event: { type: 'task.retry_due', attemptId: A2 } });
  });

  t.test('run deadline without retries → timed_out', async (t) => {
    const d = running({ maxRetries: 0 });
    d.send({ type: 'task.timeout', at: T0 + 92_000, attemptId: A1 });
    t.equal(d.value, 'timed_out');
    t.match(finishedEvent(d)?.event, { outcome: 'timed_out', error: /exceeded timeout_s=60/ });
  });

  t.test('worker lost without retries → failed (worker_lost)', async (t) => {
    const d = running({ maxRetries: 0 });
    d.send({ type: 'task.worker_lost', at: T0 + 5000, workerId: 'w1' });
    t.equal(d.value, 'failed');
    t.equal(d.context.failureKind, 'worker_lost');
    t.same(effectTypes(d.effects), ['cancelTimer:attempt', 'send:job.task_finished']);
  });

  t.test('worker lost with retries → backoff', async (t) => {
    const d = running();
    d.send({ type: 'task.worker_lost', at: T0 + 5000, workerId: 'w1' });
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.runtimeMs, 3000, 'time run before the loss still counts');
  });

  t.test('task.cancel → cancelled with kill', async (t) => {
    const d = running();
    d.send({ type: 'task.cancel', at: T0 + 5000, reason: 'user' });
    t.equal(d.value, 'cancelled');
    t.same(effectTypes(d.effects), ['effect:task.kill', 'cancelTimer:attempt', 'send:worker.task_released', 'send:job.task_finished']);
    t.equal(d.context.runtimeMs, 3000);
  });

  t.test('a second dispatch while running is ignored', async (t) => {
    const d = running();
    d.send({ type: 'task.dispatched', at: T0 + 5000, attemptId: A1, workerId: 'w2' });
    t.equal(d.value, 'running');
    t.equal(d.context.workerId, 'w1');
  });
});

t.test('pending.backoff', async (t) => {
  function backingOff() {
    const d = running();
    d.send({ type: 'task.failed', at: T0 + 4000, attemptId: A1, exitCode: 1, error: 'boom', failureKind: 'exit_code' });
    return d;
  }

  t.test('entering backoff moves to the next attempt and keeps the failure visible', async (t) => {
    const d = backingOff();
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.attempt, 2);
    t.equal(d.context.attemptId, A2);
    t.equal(d.context.workerId, null);
    t.equal(d.context.error, 'boom', 'diagnostics preserved during the retry');
    t.same(effectTypes(d.effects), ['cancelTimer:attempt', 'scheduleTimer:retry']);
  });

  t.test('task.retry_due for the new attempt → ready, enqueued again', async (t) => {
    const d = backingOff();
    d.send({ type: 'task.retry_due', at: T0 + 6000, attemptId: A2 });
    t.same(d.value, { pending: 'ready' });
    t.match(effectsOfKind(d.effects, 'task.enqueue'), [{ attemptId: A2 }]);
  });

  t.test('a retry_due for another attempt is ignored', async (t) => {
    const d = backingOff();
    d.send({ type: 'task.retry_due', at: T0 + 6000, attemptId: A1 });
    t.same(d.value, { pending: 'backoff' });
    t.same(d.effects, []);
  });

  t.test('results of the old attempt are ignored while backing off', async (t) => {
    const d = backingOff();
    d.send({ type: 'task.succeeded', at: T0 + 5000, attemptId: A1, result: { late: true } });
    t.same(d.value, { pending: 'backoff' });
    t.equal(d.context.result, null);
  });

  t.test('task.cancel → cancelled, retry timer disarmed', async (t) => {
    const d = backingOff();
    d.send({ type: 'task.cancel', at: T0 + 5000, reason: 'user' });
    t.equal(d.value, 'cancelled');
    t.same(effectTypes(d.effects), ['cancelTimer:retry', 'send:job.task_finished']);
    t.match(finishedEvent(d)?.event, { outcome: 'cancelled', attempts: 1, error: 'boom' });
  });

  t.test('full retry: attempt 2 succeeds; history keeps both attempts; old attempt stays stale', async (t) => {
    const d = backingOff();
    d.send({ type: 'task.retry_due', at: T0 + 6000, attemptId: A2 });
    d.send({ type: 'task.dispatched', at: T0 + 7000, attemptId: A2, workerId: 'w2' });
    d.send({ type: 'task.started', at: T0 + 8000, attemptId: A2 });
    d.send({ type: 'task.succeeded', at: T0 + 9000, attemptId: A1, result: { stale: true } });
    t.equal(d.value, 'running', 'a result from attempt 1 does not end attempt 2');
    d.send({ type: 'task.succeeded', at: T0 + 10_000, attemptId: A2, result: { ok: true } });
    t.equal(d.value, 'succeeded');
    t.same(d.context.result, { ok: true });
    t.equal(d.context.error, null);
    t.equal(d.context.runtimeMs, 2000 + 2000);
    t.match(d.context.attempts, [
      { attemptId: A1, workerId: 'w1', outcome: 'failed', exitCode: 1, errorTail: 'boom' },
      { attemptId: A2, workerId: 'w2', outcome: 'succeeded' },
    ]);
    t.match(finishedEvent(d)?.event, { outcome: 'succeeded', attempts: 2, runtimeMs: 4000 });
  });

  t.test('backoff doubles per attempt and caps at 60 s', async (t) => {
    t.same([1, 2, 3, 5, 6, 10].map(retryBackoffMs), [2000, 4000, 8000, 32_000, 60_000, 60_000]);
  });
});

t.test('terminal states ignore every later event', async (t) => {
  const makers: Record<string, () => MachineDriver<TaskContext>> = {
    succeeded: () => {
      const d = running();
      d.send({ type: 'task.succeeded', at: T0 + 3000, attemptId: A1, result: 1 });
      return d;
    },
    failed: () => {
      const d = running({ maxRetries: 0 });
      d.send({ type: 'task.failed', at: T0 + 3000, attemptId: A1, exitCode: 1, error: 'e', failureKind: 'exit_code' });
      return d;
    },
    cancelled: () => {
      const d = task();
      d.send({ type: 'task.cancel', at: T0 + 3000, reason: 'r' });
      return d;
    },
    timed_out: () => {
      const d = running({ maxRetries: 0 });
      d.send({ type: 'task.timeout', at: T0 + 3000, attemptId: A1 });
      return d;
    },
  };
  const later = [
    { type: 'task.succeeded', at: T0 + 9000, attemptId: A1, result: 2 },
    { type: 'task.failed', at: T0 + 9000, attemptId: A1, exitCode: 1, error: 'late', failureKind: 'exit_code' },
    { type: 'task.cancel', at: T0 + 9000, reason: 'again' },
    { type: 'task.timeout', at: T0 + 9000, attemptId: A1 },
    { type: 'task.worker_lost', at: T0 + 9000, workerId: 'w1' },
    { type: 'task.retry_due', at: T0 + 9000, attemptId: A2 },
    { type: 'task.dispatched', at: T0 + 9000, attemptId: A1, workerId: 'w1' },
    { type: 'task.release', at: T0 + 9000 },
  ];
  for (const [state, make] of Object.entries(makers)) {
    const d = make();
    t.equal(d.value, state);
    const before = JSON.stringify(d.context);
    for (const event of later) {
      t.same(d.send(event), [], `${state} ignores ${event.type}`);
      t.equal(d.value, state);
    }
    t.equal(JSON.stringify(d.context), before, `${state}: context unchanged`);
  }
});

t.test('persist → JSON → resolveState → continue', async (t) => {
  const d = running();
  d.send({ type: 'task.progress', at: T0 + 3000, attemptId: A1, progress: { step: 1 } });
  const stored = d.persisted();
  t.strictSame(stored.context, d.context, 'context is plain JSON: nothing lost or changed by JSON');
  t.same(stored.value, 'running');
  t.equal(stored.status, 'active');
  d.roundTrip();
  t.equal(d.value, 'running');
  t.same(d.context.latestProgress, { step: 1 });
  d.send({ type: 'task.failed', at: T0 + 4000, attemptId: A1, exitCode: 1, error: 'boom', failureKind: 'exit_code' });
  t.same(d.value, { pending: 'backoff' }, 'nested values restore too');
  d.roundTrip();
  d.send({ type: 'task.retry_due', at: T0 + 6000, attemptId: A2 });
  t.same(d.value, { pending: 'ready' });
  t.same(effectTypes(d.effects), ['effect:task.enqueue', 'scheduleTimer:requeue'], 'entry actions run on the step after restore, not on restore');
  const done = task();
  done.send({ type: 'task.cancel', at: T0 + 1, reason: 'r' });
  done.roundTrip();
  t.equal(done.status, 'done');
  t.same(done.send({ type: 'task.release', at: T0 + 2 }), []);
});

t.test('read model', async (t) => {
  const d = running();
  d.send({ type: 'task.progress', at: T0 + 3000, attemptId: A1, progress: { percent: 10 }, outputTail: 'hi' });
  const view = taskReadModel(d.persisted() as never, TASK) as Record<string, unknown>;
  t.match(view, {
    id: TASK,
    job_id: JOB,
    index: 17,
    status: 'running',
    pending_reason: null,
    attempt_id: A1,
    latest_progress: { percent: 10 },
    live_feedback: { output_tail: 'hi' },
    requirements: { cpu: 2, memory_mb: 1024 },
    created_at: new Date(T0).toISOString(),
  });
  t.notOk(JSON.stringify(view).includes('w1'), 'worker ids are redacted');
  const waiting = taskReadModel(task({ blocked: true }).persisted() as never, TASK) as Record<string, unknown>;
  t.match(waiting, { status: 'pending', pending_reason: 'waiting_dependencies' });
  const ready = taskReadModel(task().persisted() as never, TASK) as Record<string, unknown>;
  t.match(ready, { status: 'pending', pending_reason: 'queued' });
});
