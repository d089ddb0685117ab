import { and, not } from 'xstate';

// Transitions shared by `dispatched` and `running` (an attempt in either phase
// can end the same ways), and by `ready` and a task dispatched on creation.
// Only named actions and guards, so they type-check wherever they are spread.

export function dispatch() {
  return {
    guard: 'isExpectedAttempt',
    target: '#task.dispatched',
    actions: ['recordDispatch', 'declareDispatch', 'armStartDeadline'],
  } as const;
}

// A result comes from the agent, through the controller holding its stream,
// which tells the worker the attempt ended (`worker.allocations_changed`):
// no release is sent from here.

export function endWithSuccess() {
  return {
    guard: 'isExpectedAttempt',
    target: '#task.succeeded',
    actions: ['disarmAttemptTimer', 'recordSuccess'],
  } as const;
}

export function endWithFailure() {
  return [
    {
      guard: and(['isExpectedAttempt', 'isRetryableFailure', 'hasRetriesLeft']),
      target: '#task.pending.backoff',
      actions: ['disarmAttemptTimer', 'recordFailure', 'prepareRetry', 'armRetryTimer'],
    },
    {
      // A timeout the runner enforced ends like the controller's own run deadline.
      guard: and(['isExpectedAttempt', 'isTimeoutFailure']),
      target: '#task.timed_out',
      actions: ['disarmAttemptTimer', 'recordFailure'],
    },
    {
      guard: 'isExpectedAttempt',
      target: '#task.failed',
      actions: ['disarmAttemptTimer', 'recordFailure'],
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
