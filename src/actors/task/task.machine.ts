import { and, assertEvent, enqueueActions, setup } from 'xstate';
import { assign } from '../runtime/fast-assign.js';
import { effectActions } from '../runtime/effects.js';
import { jobRef, workerRef } from '../shared/ids.js';
import { tail } from '../shared/json-fields.js';
import { requirementsToJson } from '../shared/resources.js';
import { TASK_EFFECT, type TaskEvent, type TaskInput } from './task.events.js';
import { cancelAttempt, dispatch, endWithFailure, endWithSuccess, endWithWorkerLost } from './task.transitions.js';
import {
  OUTPUT_TAIL_CHARS,
  REQUEUE_CHECK_MS,
  applyFailure,
  applySuccess,
  closeAttempt,
  endWithoutResult,
  hasRetriesLeft,
  initialTaskContext,
  nextAttempt,
  openAttempt,
  updateCurrentAttempt,
  type TaskContext,
} from './task.logic.js';

/**
 * # Task lifecycle
 *
 * ```
 *            ┌── blocked ──release──┐
 * pending ───┤                      ▼
 *            └────────────────► ready ──dispatched──► dispatched ──started──► running
 *                                 ▲                       │                      │
 *                  retry_due      │      failed/timeout/worker_lost (retries left)
 *              backoff ◄──────────┴───────────────────────┴──────────────────────┘
 * terminal: succeeded | failed | cancelled | timed_out
 * ```
 *
 * - `pending.blocked`: created behind unmet job dependencies; `task.release`
 *   (from the job) moves it to `ready`.
 * - Dispatched on creation: the scheduler creates a job's task in the commit
 *   that dispatches its first attempt (a job's tasks come to exist at their
 *   first dispatch, see `src/jobs/task-plan.ts`), with `dispatchTo` in
 *   `task.create`: the task enters `dispatched` in its first step, out of the
 *   queue already, so it never enqueues itself.
 * - `pending.ready` (entry): declares `task.enqueue` for the expected attempt
 *   id; the scheduler claims it and answers `task.dispatched {attemptId, workerId}`,
 *   accepted only for the expected attempt id. While it waits, the `requeue`
 *   timer enqueues it again every `REQUEUE_CHECK_MS`: a claim whose controller
 *   died before `task.dispatched` was committed took the attempt out of the
 *   queue, and nothing else would put it back.
 * - `dispatched` (entry of the attempt): declares `task.dispatch` for the
 *   agent (the controller holding the agent's stream records the allocation on
 *   the worker before sending it), and arms the `attempt` timer at the
 *   start deadline (`startTimeoutS`, which includes runtime preparation) —
 *   a dispatch the agent never acknowledges does not hang the task.
 * - `running`: `task.started` re-arms the same `attempt` timer at
 *   `at + (timeoutS + graceS)`; the agent enforces `timeout_s` itself, the
 *   timer is the backstop. Tells the job `job.task_started`.
 * - Results (`task.succeeded` / `task.failed`) are accepted in `dispatched`
 *   too: a fast attempt's `started` may be lost or overtaken, its result is
 *   still the result.
 * - Failure, timeout or loss of the worker with retries left (attempt ≤
 *   maxRetries, and the failure is `retryable`) ends the attempt, moves to the
 *   next attempt id and waits in `pending.backoff` for the `retry` timer
 *   (min(2^attempt s, 60 s)); `task.retry_due` then re-enters `ready`, which
 *   enqueues again. Worker loss counts as an attempt.
 * - Cancel: from `ready` declares `task.dequeue`; from `backoff` cancels the
 *   retry timer; from `dispatched`/`running` declares `task.kill`, cancels the
 *   attempt timer and releases the worker allocation (`worker.task_released`,
 *   as a timeout does; an attempt that ends with the agent's result is
 *   released by the controller that heard it).
 * - Every terminal state sends `job.task_finished` to the job once. Terminal
 *   states are final: later events (stale results, duplicate cancels) are ignored.
 *
 * Events naming another attempt id or another worker are ignored everywhere,
 * which is what makes "exactly one result per task" hold under redelivery.
 */
export const taskMachine = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskEvent,
    input: {} as TaskInput,
  },
  actions: {
    ...effectActions,

    // ── context updates ───────────────────────────────────────────────────
    recordRelease: assign({ blocked: false }),
    recordDispatch: assign(({ context, event }) => {
      // From `task.dispatched`, or — for a task dispatched as it is created — from its creation input.
      const { workerId, at } = event.type === 'task.dispatched' ? event : (context.dispatchOnCreate as NonNullable<TaskContext['dispatchOnCreate']>);
      return { workerId, retryDueAt: null, dispatchOnCreate: null, attempts: openAttempt(context, workerId, at) };
    }),
    recordStart: assign(({ context, event }) => {
      assertEvent(event, 'task.started');
      return {
        attempts: updateCurrentAttempt(context, { startedAt: event.at }),
        firstStartedAt: context.firstStartedAt ?? event.at,
        // A new attempt's output replaces the preserved one only once it has some.
        latestProgress: null,
      };
    }),
    recordProgress: assign(({ context, event }) => {
      assertEvent(event, 'task.progress');
      return {
        latestProgress: event.progress,
        outputTail: tail(event.outputTail ?? null, OUTPUT_TAIL_CHARS) ?? context.outputTail,
      };
    }),
    recordSuccess: assign(({ context, event }) => {
      assertEvent(event, 'task.succeeded');
      return applySuccess(context, event);
    }),
    recordFailure: assign(({ context, event }) => {
      assertEvent(event, 'task.failed');
      return applyFailure(context, event);
    }),
    recordStartTimeout: assign(({ context, event }) =>
      endWithoutResult(context, event.at, 'timed_out', 'start_timeout', `attempt ${context.attemptId} was dispatched but did not start within ${context.startTimeoutS}s`),
    ),
    recordRunTimeout: assign(({ context, event }) =>
      endWithoutResult(context, event.at, 'timed_out', 'timeout', `attempt ${context.attemptId} exceeded timeout_s=${context.timeoutS}`),
    ),
    recordWorkerLost: assign(({ context, event }) =>
      endWithoutResult(context, event.at, 'worker_lost', 'worker_lost', `worker running attempt ${context.attemptId} stopped responding`),
    ),
    recordCancelledAttempt: assign(({ context, event }) => {
      assertEvent(event, 'task.cancel');
      return closeAttempt(context, event.at, 'cancelled', { exitCode: null, failureKind: null, error: null });
    }),
    recordCancel: assign(({ event }) => {
      assertEvent(event, 'task.cancel');
      return { cancelReason: event.reason, retryDueAt: null };
    }),
    prepareRetry: assign(({ context, event }) => nextAttempt(context, event.at)),
    // Terminal entry: the outcome is what `job.task_finished` reports.
    markSucceeded: assign(({ event }) => ({ outcome: 'succeeded' as const, finishedAt: event.at, workerId: null })),
    markFailed: assign(({ event }) => ({ outcome: 'failed' as const, finishedAt: event.at, workerId: null })),
    markCancelled: assign(({ event }) => ({ outcome: 'cancelled' as const, finishedAt: event.at, workerId: null })),
    markTimedOut: assign(({ event }) => ({ outcome: 'timed_out' as const, finishedAt: event.at, workerId: null })),

    // ── declared effects ──────────────────────────────────────────────────
    declareEnqueue: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'effect',
        params: {
          kind: TASK_EFFECT.enqueue,
          data: {
            taskId: context.taskId,
            jobId: context.jobId,
            attemptId: context.attemptId,
            requirements: requirementsToJson(context.requirements),
            priority: context.priority,
            createdAt: context.createdAt,
          },
        },
      });
    }),
    declareDequeue: enqueueActions(({ context, enqueue }) => {
      // The requirements rebuild the exact ready-queue member to remove.
      enqueue({
        type: 'effect',
        params: { kind: TASK_EFFECT.dequeue, data: { taskId: context.taskId, attemptId: context.attemptId, requirements: requirementsToJson(context.requirements) } },
      });
    }),
    declareDispatch: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'effect',
        params: {
          kind: TASK_EFFECT.dispatch,
          data: {
            taskId: context.taskId,
            jobId: context.jobId,
            attemptId: context.attemptId,
            workerId: context.workerId,
            attempt: context.attempt,
            payload: context.payload,
            requirements: requirementsToJson(context.requirements),
            timeoutS: context.timeoutS,
            graceS: context.graceS,
          },
        },
      });
    }),
    declareKill: enqueueActions(({ context, event, enqueue }) => {
      enqueue({
        type: 'effect',
        params: {
          kind: TASK_EFFECT.kill,
          data: {
            taskId: context.taskId,
            attemptId: context.attemptId,
            workerId: context.workerId,
            reason: event.type === 'task.cancel' ? 'cancelled' : 'timeout',
          },
        },
      });
    }),
    notifyWorkerReleased: enqueueActions(({ context, enqueue }) => {
      if (context.workerId === null) return;
      enqueue({
        type: 'send',
        params: { to: workerRef(context.workerId), event: { type: 'worker.task_released', attemptId: context.attemptId } },
      });
    }),
    notifyJobStarted: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'send',
        params: { to: jobRef(context.jobId), event: { type: 'job.task_started', taskId: context.taskId, attemptId: context.attemptId } },
      });
    }),
    armStartDeadline: enqueueActions(({ context, enqueue }) => {
      // After `recordDispatch`: the attempt just opened carries the dispatch time.
      const dispatchedAt = context.attempts[context.attempts.length - 1]?.dispatchedAt as number;
      enqueue({
        type: 'scheduleTimer',
        params: {
          timerId: 'attempt',
          dueAt: dispatchedAt + context.startTimeoutS * 1000,
          event: { type: 'task.timeout', attemptId: context.attemptId },
        },
      });
    }),
    armRunDeadline: enqueueActions(({ context, event, enqueue }) => {
      enqueue({
        type: 'scheduleTimer',
        params: {
          timerId: 'attempt',
          dueAt: event.at + (context.timeoutS + context.graceS) * 1000,
          event: { type: 'task.timeout', attemptId: context.attemptId },
        },
      });
    }),
    disarmAttemptTimer: enqueueActions(({ enqueue }) => {
      enqueue({ type: 'cancelTimer', params: { timerId: 'attempt' } });
    }),
    armRetryTimer: enqueueActions(({ context, enqueue }) => {
      if (context.retryDueAt === null) return;
      enqueue({
        type: 'scheduleTimer',
        params: { timerId: 'retry', dueAt: context.retryDueAt, event: { type: 'task.retry_due', attemptId: context.attemptId } },
      });
    }),
    disarmRetryTimer: enqueueActions(({ enqueue }) => {
      enqueue({ type: 'cancelTimer', params: { timerId: 'retry' } });
    }),
    armRequeueTimer: enqueueActions(({ context, event, enqueue }) => {
      // Entered on creation, the event is XState's init event, which has no time: the task's creation time stands in.
      const at = 'at' in event && typeof event.at === 'number' ? event.at : context.createdAt;
      enqueue({
        type: 'scheduleTimer',
        params: { timerId: 'requeue', dueAt: at + REQUEUE_CHECK_MS, event: { type: 'task.requeue_due', attemptId: context.attemptId } },
      });
    }),
    disarmRequeueTimer: enqueueActions(({ enqueue }) => {
      enqueue({ type: 'cancelTimer', params: { timerId: 'requeue' } });
    }),
    notifyJobFinished: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'send',
        params: {
          to: jobRef(context.jobId),
          event: {
            type: 'job.task_finished',
            taskId: context.taskId,
            index: context.index,
            outcome: context.outcome,
            attempts: context.attempts.length,
            runtimeMs: context.runtimeMs,
            // A task whose start was folded into its result sent no `job.task_started`: this tells the job it ran.
            startedAt: context.firstStartedAt,
            resultQuality: context.resultQuality,
            error: context.error,
          },
        },
      });
    }),
  },
  guards: {
    isBlocked: ({ context }) => context.blocked,
    isDispatchedOnCreate: ({ context }) => context.dispatchOnCreate !== null,
    isExpectedAttempt: ({ context, event }) => 'attemptId' in event && event.attemptId === context.attemptId,
    // A loss report may name its attempt (a bounced assignment does); if it does, it must be the current one.
    isCurrentWorker: ({ context, event }) =>
      event.type === 'task.worker_lost' &&
      event.workerId === context.workerId &&
      (event.attemptId === undefined || event.attemptId === context.attemptId),
    hasRetriesLeft: ({ context }) => hasRetriesLeft(context),
    isRetryableFailure: ({ event }) => event.type === 'task.failed' && event.retryable !== false,
    // The runner enforces timeout_s itself (SIGTERM, grace, SIGKILL) and reports it as a failure.
    isTimeoutFailure: ({ event }) => event.type === 'task.failed' && event.failureKind === 'timeout',
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => initialTaskContext(input),
  initial: 'pending',
  states: {
    pending: {
      initial: 'created',
      states: {
        /** Transient: picks blocked, dispatched or ready from the creation input. */
        created: {
          always: [
            { guard: 'isBlocked', target: 'blocked' },
            { guard: 'isDispatchedOnCreate', target: '#task.dispatched', actions: dispatch().actions },
            { target: 'ready' },
          ],
        },
        blocked: {
          on: {
            'task.release': { target: 'ready', actions: 'recordRelease' },
            'task.cancel': { target: '#task.cancelled', actions: 'recordCancel' },
          },
        },
        ready: {
          entry: ['declareEnqueue', 'armRequeueTimer'],
          exit: 'disarmRequeueTimer',
          on: {
            'task.requeue_due': { guard: 'isExpectedAttempt', target: 'ready', reenter: true },
            'task.dispatched': dispatch(),
            'task.cancel': { target: '#task.cancelled', actions: ['declareDequeue', 'recordCancel'] },
          },
        },
        backoff: {
          on: {
            'task.retry_due': { guard: 'isExpectedAttempt', target: 'ready' },
            'task.cancel': { target: '#task.cancelled', actions: ['disarmRetryTimer', 'recordCancel'] },
          },
        },
      },
    },
    dispatched: {
      on: {
        'task.started': {
          guard: 'isExpectedAttempt',
          target: 'running',
          actions: ['recordStart', 'armRunDeadline', 'notifyJobStarted'],
        },
        'task.succeeded': endWithSuccess(),
        'task.failed': endWithFailure(),
        'task.timeout': [
          {
            guard: and(['isExpectedAttempt', 'hasRetriesLeft']),
            target: '#task.pending.backoff',
            actions: ['declareKill', 'notifyWorkerReleased', 'recordStartTimeout', 'prepareRetry', 'armRetryTimer'],
          },
          {
            guard: 'isExpectedAttempt',
            target: 'timed_out',
            actions: ['declareKill', 'notifyWorkerReleased', 'recordStartTimeout'],
          },
        ],
        'task.worker_lost': endWithWorkerLost(),
        'task.cancel': cancelAttempt(),
      },
    },
    running: {
      on: {
        'task.progress': { guard: 'isExpectedAttempt', actions: 'recordProgress' },
        'task.succeeded': endWithSuccess(),
        'task.failed': endWithFailure(),
        'task.timeout': [
          {
            guard: and(['isExpectedAttempt', 'hasRetriesLeft']),
            target: '#task.pending.backoff',
            actions: ['declareKill', 'notifyWorkerReleased', 'recordRunTimeout', 'prepareRetry', 'armRetryTimer'],
          },
          {
            guard: 'isExpectedAttempt',
            target: 'timed_out',
            actions: ['declareKill', 'notifyWorkerReleased', 'recordRunTimeout'],
          },
        ],
        'task.worker_lost': endWithWorkerLost(),
        'task.cancel': cancelAttempt(),
      },
    },
    succeeded: { type: 'final', entry: ['markSucceeded', 'notifyJobFinished'] },
    failed: { type: 'final', entry: ['markFailed', 'notifyJobFinished'] },
    cancelled: { type: 'final', entry: ['markCancelled', 'notifyJobFinished'] },
    timed_out: { type: 'final', entry: ['markTimedOut', 'notifyJobFinished'] },
  },
});

export type TaskMachine = typeof taskMachine;
