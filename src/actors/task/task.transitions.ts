import { and, not } from 'xstate';

// Transitions shared by `dispatched` and `running` (an attempt in either phase
// can end the same ways), and by `ready` and `claimed`. Only named actions and
// guards, so they type-check wherever they are spread.

export function dispatch() {
  return {
    guard: 'isExpectedAttempt',
    target: '#task.dispatched',
    actions: ['recordDispatch', 'notifyWorkerAssigned', 'declareDispatch', 'armStartDeadline'],
  } as const;
}

export function endWithSuccess() {
  return {
    guard: 'isExpectedAttempt',
    target: '#task.succeeded',
    actions: ['disarmAttemptTimer', 'notifyWorkerReleased', 'recordSuccess'],
  } as const;
}

export function endWithFailure() {
  return [
    {
      guard: and(['isExpectedAttempt', 'isRetryableFailure', 'hasRetriesLeft']),
      target: '#task.pending.backoff',
      actions: ['disarmAttemptTimer', 'notifyWorkerReleased', 'recordFailure', 'prepareRetry', 'armRetryTimer'],
    },
    {
      // A timeout the runner enforced ends like the controller's own run deadline.
      guard: and(['isExpectedAttempt', 'isTimeoutFailure']),
      target: '#task.timed_out',
      actions: ['disarmAttemptTimer', 'notifyWorkerReleased', 'recordFailure'],
    },
    {
      guard: 'isExpectedAttempt',
      target: '#task.failed',
      actions: ['disarmAttemptTimer', 'notifyWorkerReleased', 'recordFailure'],
    },
  ] as const;
}

export function endWithWorkerLost() {
  // No release to the worker: it is lost, its allocations are gone with it.
  return [
    {
      guard: and(['isCurrentWorker', 'hasRetriesLeft']),
      target: '#task.pending.backoff',
      actions: ['disarmAttemptTimer', 'recordWorkerLost', 'prepareRetry', 'armRetryTimer'],
    },
    {
      guard: and(['isCurrentWorker', not('hasRetriesLeft')]),
      target: '#task.failed',
      actions: ['disarmAttemptTimer', 'recordWorkerLost'],
    },
  ] as const;
}

export function cancelAttempt() {
  return {
    target: '#task.cancelled',
    actions: ['declareKill', 'disarmAttemptTimer', 'notifyWorkerReleased', 'recordCancelledAttempt', 'recordCancel'],
  } as const;
}
