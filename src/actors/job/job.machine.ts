import { assertEvent, enqueueActions, setup } from 'xstate';
import { assign } from '../runtime/fast-assign.js';
import { effectActions } from '../runtime/effects.js';
import { accountRef, jobRef } from '../shared/ids.js';
import { JOB_EFFECT, type JobEvent, type JobInput } from './job.events.js';
import {
  QUEUE_TIMEOUT_RECHECK_MS,
  RECOVERY_INTERVAL_MS,
  UNFINISHED,
  chargeMicros,
  decideOutcome,
  describeTaskOutcome,
  finishedCount,
  initialJobContext,
  isUnreportedTask,
  queueTimeoutMs,
  type JobContext,
} from './job.logic.js';
import { recordTaskReports } from './job.tasks.js';
import { decidedOutcomeTransitions, dependencyAnswer, lateMessageHandlers, requirementsOf, taskReportHandlers } from './job.transitions.js';

/**
 * # Job lifecycle
 *
 * ```
 * planning ──planned──► queued ──first task_started──► running ──all tasks finished──► completed | partial | failed
 *  (awaiting_hold,       (waiting_dependencies,                                          cancelled (cancel, dependency
 *   creating_tasks)       ready)                                                           failed, queue timeout)
 * ```
 *
 * - `planning.awaiting_hold` (only when billed): on creation the job sends
 *   `account.place_hold`; `job.hold_placed` → `creating_tasks`,
 *   `job.hold_rejected` → `failed` before any task exists (the reference:
 *   "rejected before it starts"). Dependencies are registered on creation
 *   (`job.dependent_registered` to each), so they answer when they end — or at
 *   once if they already have.
 * - `planning.creating_tasks` (entry): declares `job.plan`; the planner
 *   plans `<jobId>.t0 … t<n-1>`, queues them as one ready-queue range (not
 *   when the job has dependencies) and answers `job.planned {taskCount}`; the
 *   scheduler creates each task as it dispatches it (`src/jobs/task-plan.ts`).
 *   `job.planning_failed` → failed.
 * - `queued.waiting_dependencies` until every `depends_on` job reports
 *   `job.dependency_completed`; `job.dependency_failed` → cancelled.
 *   `queued.ready` (entry) declares `job.release_tasks`, which queues the
 *   range, when the job has dependencies. The queue timer (max(2 × timeout_s, 30 min)) fires
 *   `job.queue_timeout`; the job asks for a capacity check
 *   (`job.check_capacity`) and cancels only when the answer says live capacity
 *   exists — during a fleet-wide outage it looks again 5 minutes later.
 * - `running` from the first `job.task_started`; a `recover` timer every
 *   5 minutes declares `job.reconcile_tasks` (stuck-job recovery).
 * - `job.task_finished` is counted once per task index (see `OUTCOME_CHAR`);
 *   consecutive reports in one mailbox batch reach the machine as one
 *   `job.tasks_finished` (`jobKind.batchedEvents`), folded in order in one step;
 *   after each step the outcome is re-decided (`decideOutcome`):
 *   strict_complete fails fast on the first task without a result.
 * - Terminal entry: cancels timers, declares `job.cancel_tasks` if tasks are
 *   unfinished (one effect, not one `send` per task: a 10k-task job would
 *   otherwise commit 10k outbox items in one step; the handler pages through
 *   `<jobId>.t<i>` and unfinished tasks are the only ones that react),
 *   settles the hold (`account.settle_hold` with runtime × rate, capped at the
 *   hold), answers dependents, and declares `job.terminal` (webhook + SSE).
 *
 * Terminal states are not XState `final`: they still answer late messages —
 * a dependent registering, a hold placed after the job ended (released at
 * once), a plan finished after a cancel (its tasks cancelled). Everything else
 * is ignored. Tasks finishing after the job ended are not billed.
 */
export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobEvent,
    input: {} as JobInput,
  },
  actions: {
    ...effectActions,

    // ── context updates ───────────────────────────────────────────────────
    recordHoldPlaced: assign({ holdStatus: 'placed' as const }),
    recordHoldRejected: assign(({ event }) => {
      assertEvent(event, 'job.hold_rejected');
      const usd = (micros: number | undefined) => (micros === undefined ? '?' : `$${(micros / 1_000_000).toFixed(2)}`);
      return {
        holdStatus: 'rejected' as const,
        error: `Insufficient balance: the estimated hold ${usd(event.requiredMicros)} exceeds the available ${usd(event.availableMicros)} (${event.reason}).`,
        recommendedAction: 'Top up credits (POST /api/v1/account/quotes/topup) and resubmit the same request.',
      };
    }),
    recordPlan: assign(({ context, event }) => {
      assertEvent(event, 'job.planned');
      return { taskCount: event.taskCount, taskOutcomes: context.taskOutcomes.padEnd(event.taskCount, UNFINISHED) };
    }),
    recordPlanningFailed: assign(({ event }) => {
      assertEvent(event, 'job.planning_failed');
      return { error: `Planning failed: ${event.error}`, recommendedAction: 'Fix the submission and resubmit.' };
    }),
    recordDependencyCompleted: assign(({ context, event }) => {
      assertEvent(event, 'job.dependency_completed');
      return { pendingDependencies: context.pendingDependencies.filter((id) => id !== event.jobId) };
    }),
    recordDependencyFailed: assign(({ event }) => {
      assertEvent(event, 'job.dependency_failed');
      const reason = `dependency ${event.jobId} ended ${event.status}`;
      return {
        cancelReason: reason,
        error: `Cancelled: ${reason}.`,
        recommendedAction: `Resubmit once ${event.jobId} can complete (see GET /api/v1/jobs/${event.jobId}).`,
      };
    }),
    recordTaskStarted: assign({ anyTaskStarted: true }),
    recordTaskReports: assign(({ context, event }) => {
      assertEvent(event, ['job.task_finished', 'job.tasks_finished']);
      return recordTaskReports(context, event.type === 'job.task_finished' ? [event] : event.reports);
    }),
    recordCancel: assign(({ event }) => {
      assertEvent(event, 'job.cancel');
      return { cancelReason: event.reason };
    }),
    recordQueueTimeout: assign(({ context }) => ({
      cancelReason: 'queue_timeout',
      error: `Queued longer than ${queueTimeoutMs(context.timeoutS) / 1000}s while matching capacity was live.`,
      recommendedAction: 'Check that requirements fit the available workers and the project is ready (GET /api/v1/projects/:name/status), then resubmit.',
    })),
    markQueued: assign(({ context, event }) => ({
      queuedAt: event.at,
      queueDeadlineAt: event.at + queueTimeoutMs(context.timeoutS),
    })),
    // A start reported by a task's final report was recorded with it (`recordTaskReports`).
    markRunning: assign(({ context, event }) => ({ startedAt: context.startedAt ?? event.at, queueDeadlineAt: null })),
    finalizeCompleted: assign(({ context, event }) => ({ status: 'completed' as const, finishedAt: event.at, ...describeTaskOutcome(context, 'completed') })),
    finalizePartial: assign(({ context, event }) => ({ status: 'partial' as const, finishedAt: event.at, ...describeTaskOutcome(context, 'partial') })),
    finalizeFailed: assign(({ context, event }) => ({
      status: 'failed' as const,
      finishedAt: event.at,
      // Hold rejection and planning failure set their own error first.
      ...(context.error === null ? describeTaskOutcome(context, 'failed') : {}),
    })),
    finalizeCancelled: assign(({ event }) => ({ status: 'cancelled' as const, finishedAt: event.at })),

    // ── declared effects ──────────────────────────────────────────────────
    requestHold: enqueueActions(({ context, enqueue }) => {
      if (!context.billing) return;
      enqueue({
        type: 'send',
        params: {
          to: accountRef(context.accountId),
          event: {
            type: 'account.place_hold',
            holdId: context.billing.holdId,
            jobId: context.jobId,
            amountMicros: context.billing.holdMicros,
            expiresAt: null,
          },
        },
      });
    }),
    registerWithDependencies: enqueueActions(({ context, enqueue }) => {
      for (const dependency of context.pendingDependencies) {
        enqueue({ type: 'send', params: { to: jobRef(dependency), event: { type: 'job.dependent_registered', jobId: context.jobId } } });
      }
    }),
    declarePlan: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'effect',
        params: {
          kind: JOB_EFFECT.plan,
          data: {
            jobId: context.jobId,
            accountId: context.accountId,
            jobType: context.jobType,
            spec: context.spec,
            priority: context.priority,
            timeoutS: context.timeoutS,
            createdAt: context.createdAt,
            // Tasks of a job with dependencies are not queued until `job.release_tasks`.
            blocked: context.dependsOn.length > 0,
          },
        },
      });
    }),
    releaseBlockedTasks: enqueueActions(({ context, enqueue }) => {
      if (context.dependsOn.length === 0 || !context.taskCount) return;
      enqueue({
        type: 'effect',
        params: { kind: JOB_EFFECT.releaseTasks, data: { jobId: context.jobId, taskCount: context.taskCount, requirements: requirementsOf(context), priority: context.priority } },
      });
    }),
    armQueueTimeout: enqueueActions(({ context, enqueue }) => {
      if (context.queueDeadlineAt === null) return;
      enqueue({ type: 'scheduleTimer', params: { timerId: 'queue_timeout', dueAt: context.queueDeadlineAt, event: { type: 'job.queue_timeout' } } });
    }),
    rearmQueueTimeout: enqueueActions(({ event, enqueue }) => {
      const dueAt = event.at + QUEUE_TIMEOUT_RECHECK_MS;
      enqueue.assign({ queueDeadlineAt: dueAt });
      enqueue({ type: 'scheduleTimer', params: { timerId: 'queue_timeout', dueAt, event: { type: 'job.queue_timeout' } } });
    }),
    declareCapacityCheck: enqueueActions(({ context, enqueue }) => {
      enqueue({ type: 'effect', params: { kind: JOB_EFFECT.checkCapacity, data: { jobId: context.jobId } } });
    }),
    disarmQueueTimeout: enqueueActions(({ enqueue }) => {
      enqueue({ type: 'cancelTimer', params: { timerId: 'queue_timeout' } });
    }),
    armRecoveryTimer: enqueueActions(({ event, enqueue }) => {
      enqueue({ type: 'scheduleTimer', params: { timerId: 'recover', dueAt: event.at + RECOVERY_INTERVAL_MS, event: { type: 'job.recover' } } });
    }),
    declareReconcile: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'effect',
        params: {
          kind: JOB_EFFECT.reconcileTasks,
          data: { jobId: context.jobId, taskCount: context.taskCount ?? 0, finishedCount: finishedCount(context.counts), requirements: requirementsOf(context) },
        },
      });
    }),
    registerDependent: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'job.dependent_registered');
      if (context.status === null) {
        if (!context.dependents.includes(event.jobId)) enqueue.assign({ dependents: [...context.dependents, event.jobId] });
        return;
      }
      enqueue({ type: 'send', params: { to: jobRef(event.jobId), event: dependencyAnswer(context) } });
    }),
    declareTerminalEffects: enqueueActions(({ context, enqueue }) => {
      enqueue({ type: 'cancelTimer', params: { timerId: 'queue_timeout' } });
      enqueue({ type: 'cancelTimer', params: { timerId: 'recover' } });
      if (context.taskCount !== null && finishedCount(context.counts) < context.taskCount) {
        enqueue({
          type: 'effect',
          params: {
            kind: JOB_EFFECT.cancelTasks,
            data: {
              jobId: context.jobId,
              taskCount: context.taskCount,
              requirements: requirementsOf(context),
              reason: context.cancelReason ?? context.status,
              // Which tasks already ended (`.` = not yet): only the others need a cancel.
              taskOutcomes: context.taskOutcomes,
            },
          },
        });
      }
      if (context.billing && context.holdStatus === 'placed') {
        const actualMicros = chargeMicros(context);
        enqueue.assign({ holdStatus: 'settled', chargedMicros: actualMicros });
        enqueue({
          type: 'send',
          params: { to: accountRef(context.accountId), event: { type: 'account.settle_hold', holdId: context.billing.holdId, actualMicros } },
        });
      }
      for (const dependent of context.dependents) {
        enqueue({ type: 'send', params: { to: jobRef(dependent), event: dependencyAnswer(context) } });
      }
      enqueue({
        type: 'effect',
        params: {
          kind: JOB_EFFECT.terminal,
          data: {
            jobId: context.jobId,
            accountId: context.accountId,
            status: context.status,
            project: context.project,
            type: context.jobType,
            error: context.error,
            recommendedAction: context.recommendedAction,
            tags: context.tags,
            clientRef: context.clientRef,
            callbackUrl: context.callbackUrl,
            completedAt: context.finishedAt,
            tasks: { total: context.taskCount ?? 0, ...context.counts },
          },
        },
      });
    }),
    releaseLateHold: enqueueActions(({ context, enqueue }) => {
      if (!context.billing) return;
      enqueue.assign({ holdStatus: 'released' });
      enqueue({ type: 'send', params: { to: accountRef(context.accountId), event: { type: 'account.release_hold', holdId: context.billing.holdId } } });
    }),
    cancelLatePlannedTasks: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'job.planned');
      enqueue.assign({ taskCount: event.taskCount, taskOutcomes: context.taskOutcomes.padEnd(event.taskCount, UNFINISHED) });
      if (event.taskCount === 0) return;
      enqueue({
        type: 'effect',
        params: {
          kind: JOB_EFFECT.cancelTasks,
          data: {
            jobId: context.jobId,
            taskCount: event.taskCount,
            requirements: requirementsOf(context),
            reason: context.cancelReason ?? context.status,
            taskOutcomes: context.taskOutcomes,
          },
        },
      });
    }),
  },
  guards: {
    needsHold: ({ context }) => context.billing !== null,
    isOurHold: ({ context, event }) => 'holdId' in event && event.holdId === context.billing?.holdId,
    isUnansweredHold: ({ context, event }) => context.holdStatus === 'requested' && 'holdId' in event && event.holdId === context.billing?.holdId,
    isUnplanned: ({ context }) => context.taskCount === null,
    isValidPlan: ({ event }) => event.type === 'job.planned' && Number.isInteger(event.taskCount) && event.taskCount >= 0,
    isDependency: ({ context, event }) => 'jobId' in event && context.dependsOn.includes(event.jobId),
    dependenciesMet: ({ context }) => context.pendingDependencies.length === 0,
    isUnreportedTask: ({ context, event }) => event.type === 'job.task_finished' && isUnreportedTask(context, event.index),
    anyTaskStarted: ({ context }) => context.anyTaskStarted,
    cancelsRunningJob: ({ event }) => event.type === 'job.cancel' && event.onlyIfNotStarted !== true,
    outcomeIsCompleted: ({ context }) => decideOutcome(context) === 'completed',
    outcomeIsPartial: ({ context }) => decideOutcome(context) === 'partial',
    outcomeIsFailed: ({ context }) => decideOutcome(context) === 'failed',
    liveCapacityUnknown: ({ event }) => event.type === 'job.queue_timeout' && (event.liveCapacity ?? null) === null,
    hasLiveCapacity: ({ event }) => event.type === 'job.queue_timeout' && event.liveCapacity === true,
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => initialJobContext(input),
  initial: 'planning',
  on: {
    'job.dependent_registered': { actions: 'registerDependent' },
  },
  states: {
    planning: {
      entry: ['requestHold', 'registerWithDependencies'],
      initial: 'created',
      on: {
        'job.dependency_completed': { guard: 'isDependency', actions: 'recordDependencyCompleted' },
        'job.dependency_failed': { guard: 'isDependency', target: 'cancelled', actions: 'recordDependencyFailed' },
        'job.task_started': { actions: 'recordTaskStarted' },
        ...taskReportHandlers(),
        'job.cancel': { target: 'cancelled', actions: 'recordCancel' },
      },
      states: {
        /** Transient: billed jobs wait for their hold, others plan at once. */
        created: {
          always: [{ guard: 'needsHold', target: 'awaiting_hold' }, { target: 'creating_tasks' }],
        },
        awaiting_hold: {
          on: {
            'job.hold_placed': { guard: 'isOurHold', target: 'creating_tasks', actions: 'recordHoldPlaced' },
            'job.hold_rejected': { guard: 'isOurHold', target: '#job.failed', actions: 'recordHoldRejected' },
          },
        },
        creating_tasks: {
          entry: 'declarePlan',
          on: {
            'job.planned': { guard: 'isValidPlan', target: '#job.queued', actions: 'recordPlan' },
            'job.planning_failed': { target: '#job.failed', actions: 'recordPlanningFailed' },
          },
        },
      },
    },
    queued: {
      entry: ['markQueued', 'armQueueTimeout'],
      initial: 'waiting_dependencies',
      always: [...decidedOutcomeTransitions(), { guard: 'anyTaskStarted', target: 'running' }],
      on: {
        'job.dependency_completed': { guard: 'isDependency', actions: 'recordDependencyCompleted' },
        'job.dependency_failed': { guard: 'isDependency', target: 'cancelled', actions: 'recordDependencyFailed' },
        'job.task_started': { target: 'running', actions: 'recordTaskStarted' },
        ...taskReportHandlers(),
        'job.cancel': { target: 'cancelled', actions: 'recordCancel' },
        'job.queue_timeout': [
          { guard: 'liveCapacityUnknown', actions: 'declareCapacityCheck' },
          { guard: 'hasLiveCapacity', target: 'cancelled', actions: 'recordQueueTimeout' },
          // A fleet-wide outage is not the job's fault: wait and look again.
          { actions: 'rearmQueueTimeout' },
        ],
      },
      states: {
        waiting_dependencies: {
          always: { guard: 'dependenciesMet', target: 'ready' },
        },
        ready: {
          entry: 'releaseBlockedTasks',
        },
      },
    },
    running: {
      entry: ['markRunning', 'disarmQueueTimeout', 'armRecoveryTimer'],
      always: decidedOutcomeTransitions(),
      on: {
        ...taskReportHandlers(),
        'job.cancel': { guard: 'cancelsRunningJob', target: 'cancelled', actions: 'recordCancel' },
        'job.recover': { actions: ['armRecoveryTimer', 'declareReconcile'] },
      },
    },
    completed: { entry: ['finalizeCompleted', 'declareTerminalEffects'], on: lateMessageHandlers() },
    partial: { entry: ['finalizePartial', 'declareTerminalEffects'], on: lateMessageHandlers() },
    failed: { entry: ['finalizeFailed', 'declareTerminalEffects'], on: lateMessageHandlers() },
    cancelled: { entry: ['finalizeCancelled', 'declareTerminalEffects'], on: lateMessageHandlers() },
  },
});

export type JobMachine = typeof jobMachine;
