import { assertEvent, enqueueActions, not, setup } from 'xstate';
import { assign } from '../runtime/fast-assign.js';
import { effectActions } from '../runtime/effects.js';
import { taskRef } from '../shared/ids.js';
import { WORKER_EFFECT, type WorkerEvent, type WorkerInput } from './worker.events.js';
import {
  applyAllocationChanges,
  freeCapacity,
  hasRoomForMinimalTask,
  heartbeatDeadline,
  initialWorkerContext,
  reconcileAllocations,
  release,
  type WorkerContext,
} from './worker.logic.js';

/**
 * # Worker lifecycle (one node-agent registration)
 *
 * ```
 * registering ──registered──► ready ◄──► busy
 *      │                        │         │
 *      └──────── drain ─────────┴────┬────┘
 *                                    ▼
 *                                draining ──last task released──► gone
 * any live state ──heartbeat expired──► lost      any live state ──deregister──► gone
 * ```
 *
 * - `registering`: created by `worker.register` (capacity, heartbeat
 *   settings); the heartbeat timer is armed at once, so an agent that never
 *   confirms is lost like any other. `worker.registered` → `ready`.
 * - `ready` / `busy` are derived from free capacity after every change:
 *   `ready` = room for a minimal task (1 CPU, 256 MB), `busy` = not. Entering
 *   `ready` declares `worker.capacity_available` so the pull scheduler claims
 *   work for it. A release while `ready` declares nothing: the controller
 *   holding the agent's stream places work as soon as the agent reports the
 *   attempt finished, before the release reaches this actor (one effect per
 *   task saved).
 * - Allocations follow `worker.allocations_changed`, which the controller
 *   holding the agent's stream sends once per turn of its event loop: the
 *   attempts it is about to send (recorded before they leave) and those the
 *   agent reported ended. Tasks send `worker.task_released` for attempts they
 *   end without the agent's word (timeout, cancel). Idempotent by attempt id;
 *   GPUs are allocated whole. A heartbeat naming the attempts the agent runs
 *   drops allocations older than one interval that it no longer runs.
 * - Heartbeats: each `worker.heartbeat` (and `worker.reconnected`) re-arms the
 *   `heartbeat` timer at `at + missedHeartbeatsAllowed × interval`. The timer
 *   event names the deadline it was armed for; only the current one counts,
 *   so a heartbeat that raced a firing timer wins.
 * - `worker.disconnected` only marks the stream down: a brief network blip
 *   must not cost running tasks, so loss is decided by the heartbeat deadline.
 * - `lost` (entry): declares `worker.lost {workerId, attemptIds}` and sends
 *   `task.worker_lost` to each task it was running; the tasks retry elsewhere.
 *   Lost is terminal for the registration: those attempts are already being
 *   retried, so an agent that comes back registers again under a new id
 *   (`worker.reregister_required` tells it). Results it still sends for old
 *   attempts are stale and tasks ignore them.
 * - `draining`: takes no new work (the scheduler skips it), declares
 *   `worker.drain` for the agent, becomes `gone` when its last attempt is released.
 * - `gone`: clean end (drained, or `worker.deregister`; attempts still
 *   allocated at deregistration are told `task.worker_lost`).
 *
 * `lost` and `gone` are not XState `final`: an assignment that raced the
 * loss is bounced to its task as `task.worker_lost`, and an agent still
 * talking is told to register again. Everything else is ignored.
 */
export const workerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    input: {} as WorkerInput,
  },
  actions: {
    ...effectActions,

    // ── context updates ───────────────────────────────────────────────────
    recordReady: assign(({ event }) => ({ readyAt: event.at })),
    recordHeartbeat: assign(({ context, event }) => {
      assertEvent(event, 'worker.heartbeat');
      return {
        lastHeartbeatAt: event.at,
        heartbeatDeadline: heartbeatDeadline(context, event.at),
        allocations: event.running === undefined ? context.allocations : reconcileAllocations(context, event.running, event.at),
      };
    }),
    recordDisconnected: assign({ connected: false }),
    recordReconnected: assign(({ context, event }) => {
      assertEvent(event, 'worker.reconnected');
      return {
        connected: true,
        controllerId: event.controllerId ?? context.controllerId,
        lastHeartbeatAt: event.at,
        heartbeatDeadline: heartbeatDeadline(context, event.at),
      };
    }),
    recordAllocationChanges: assign(({ context, event }) => {
      assertEvent(event, 'worker.allocations_changed');
      return { allocations: applyAllocationChanges(context, event.assigned, event.released, event.at) };
    }),
    recordRelease: assign(({ context, event }) => {
      assertEvent(event, 'worker.task_released');
      return { allocations: release(context.allocations, event.attemptId) };
    }),
    recordDrain: assign(({ event }) => {
      assertEvent(event, 'worker.drain');
      return { drainReason: event.reason };
    }),
    recordLost: assign(({ context, event }) => ({
      lostAttemptIds: context.allocations.map((a) => a.attemptId),
      allocations: [],
      connected: false,
      endedAt: event.at,
      endReason: 'heartbeat_expired',
    })),
    recordGone: assign(({ event }) => ({
      allocations: [],
      connected: false,
      endedAt: event.at,
      endReason: event.type === 'worker.deregister' ? event.reason : 'drained',
    })),

    // ── declared effects ──────────────────────────────────────────────────
    armHeartbeatTimer: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'scheduleTimer',
        params: {
          timerId: 'heartbeat',
          dueAt: context.heartbeatDeadline,
          event: { type: 'worker.heartbeat_expired', deadline: context.heartbeatDeadline },
        },
      });
    }),
    disarmHeartbeatTimer: enqueueActions(({ enqueue }) => {
      enqueue({ type: 'cancelTimer', params: { timerId: 'heartbeat' } });
    }),
    declareCapacityAvailable: enqueueActions(({ context, enqueue }) => {
      // Entering `ready` on the way to `busy` (a node too small for any task) offers nothing.
      if (!hasRoomForMinimalTask(context)) return;
      const free = freeCapacity(context.capacity, context.allocations);
      enqueue({
        type: 'effect',
        params: {
          kind: WORKER_EFFECT.capacityAvailable,
          data: {
            workerId: context.workerId,
            controllerId: context.controllerId,
            profile: context.capacity.profile,
            free: { cpu: free.cpu, memoryMb: free.memoryMb, storageGb: free.storageGb, gpus: free.gpus },
          },
        },
      });
    }),
    declareDrain: enqueueActions(({ context, enqueue }) => {
      enqueue({ type: 'effect', params: { kind: WORKER_EFFECT.drain, data: { workerId: context.workerId, controllerId: context.controllerId, reason: context.drainReason } } });
    }),
    /** Every attempt still allocated here is lost: each task hears it (and retries if it may). */
    notifyTasksLost: enqueueActions(({ context, enqueue }) => {
      for (const allocation of context.allocations) {
        enqueue({
          type: 'send',
          params: { to: taskRef(allocation.taskId), event: { type: 'task.worker_lost', workerId: context.workerId, attemptId: allocation.attemptId } },
        });
      }
    }),
    declareLost: enqueueActions(({ context, enqueue }) => {
      enqueue({
        type: 'effect',
        params: { kind: WORKER_EFFECT.lost, data: { workerId: context.workerId, attemptIds: context.allocations.map((a) => a.attemptId) } },
      });
    }),
    declareGone: enqueueActions(({ context, event, enqueue }) => {
      enqueue({
        type: 'effect',
        params: { kind: WORKER_EFFECT.gone, data: { workerId: context.workerId, reason: event.type === 'worker.deregister' ? event.reason : 'drained' } },
      });
    }),
    bounceAssignments: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'worker.allocations_changed');
      for (const attempt of event.assigned) {
        enqueue({
          type: 'send',
          params: { to: taskRef(attempt.taskId), event: { type: 'task.worker_lost', workerId: context.workerId, attemptId: attempt.attemptId } },
        });
      }
    }),
    declareReregister: enqueueActions(({ context, enqueue }) => {
      enqueue({ type: 'effect', params: { kind: WORKER_EFFECT.reregisterRequired, data: { workerId: context.workerId, controllerId: context.controllerId } } });
    }),
  },
  guards: {
    isCurrentDeadline: ({ context, event }) => event.type === 'worker.heartbeat_expired' && event.deadline === context.heartbeatDeadline,
    hasRoomForMinimalTask: ({ context }) => hasRoomForMinimalTask(context),
    hasNoAllocations: ({ context }) => context.allocations.length === 0,
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => initialWorkerContext(input),
  initial: 'registering',
  states: {
    registering: {
      entry: 'armHeartbeatTimer',
      on: {
        ...liveHandlers(),
        'worker.registered': { target: 'ready', actions: 'recordReady' },
        'worker.drain': { target: 'draining', actions: 'recordDrain' },
      },
    },
    ready: {
      entry: 'declareCapacityAvailable',
      always: { guard: not('hasRoomForMinimalTask'), target: 'busy' },
      on: {
        ...liveHandlers(),
        'worker.drain': { target: 'draining', actions: 'recordDrain' },
      },
    },
    busy: {
      always: { guard: 'hasRoomForMinimalTask', target: 'ready' },
      on: {
        ...liveHandlers(),
        'worker.drain': { target: 'draining', actions: 'recordDrain' },
      },
    },
    draining: {
      entry: 'declareDrain',
      always: { guard: 'hasNoAllocations', target: 'gone' },
      on: liveHandlers(),
    },
    lost: {
      entry: ['disarmHeartbeatTimer', 'notifyTasksLost', 'declareLost', 'recordLost'],
      on: deadRegistrationHandlers(),
    },
    gone: {
      entry: ['disarmHeartbeatTimer', 'notifyTasksLost', 'declareGone', 'recordGone'],
      on: deadRegistrationHandlers(),
    },
  },
});

/** Handled the same way in every live state (registering, ready, busy, draining). */
function liveHandlers() {
  return {
    'worker.heartbeat': { actions: ['recordHeartbeat', 'armHeartbeatTimer'] },
    'worker.reconnected': { actions: ['recordReconnected', 'armHeartbeatTimer'] },
    'worker.disconnected': { actions: 'recordDisconnected' },
    'worker.heartbeat_expired': { guard: 'isCurrentDeadline', target: '#worker.lost' },
    'worker.deregister': { target: '#worker.gone' },
    'worker.allocations_changed': { actions: 'recordAllocationChanges' },
    'worker.task_released': { actions: 'recordRelease' },
  } as const;
}

/** What a dead registration (lost, gone) still answers. */
function deadRegistrationHandlers() {
  return {
    'worker.allocations_changed': { actions: 'bounceAssignments' },
    'worker.heartbeat': { actions: 'declareReregister' },
    'worker.reconnected': { actions: 'declareReregister' },
  } as const;
}

export type WorkerMachine = typeof workerMachine;
