import type { JsonValue } from '../../shared/json.js';

/**
 * Events a worker (one node-agent registration) accepts, and its creation
 * input. Every event carries `at` (epoch ms). Senders: the controller holding
 * the agent's stream (register, heartbeat, connection changes, drain,
 * deregister, and what it sends the agent and hears back from it:
 * `worker.allocations_changed`), tasks (`worker.task_released` when they end
 * an attempt the agent did not report on: timeout, cancel) and the worker's
 * own heartbeat timer.
 */

export type GpuDevice = { index: number; memoryMb: number };

/** What the agent advertised at registration. */
export type WorkerCapacity = {
  cpu: number;
  memoryMb: number;
  storageGb: number;
  gpus: GpuDevice[];
  profile: 'cpu' | 'gpu';
  /** Sandbox backends available (`nsjail`, `bwrap`, `gvisor`, `process`). */
  sandboxes: string[];
  /** Sealed recipe runtimes available. */
  runtimes: string[];
};

/** The normalised creation input (built by `worker.kind.ts` from `worker.register`). */
export type WorkerInput = {
  workerId: string;
  controllerId: string | null;
  capacity: WorkerCapacity;
  heartbeatIntervalMs: number;
  missedHeartbeatsAllowed: number;
  agentVersion: string | null;
  registeredAt: number;
};

export type WorkerRegisterEvent = {
  type: 'worker.register';
  at: number;
  controllerId?: string;
  capacity: JsonValue;
  heartbeatIntervalMs?: number;
  missedHeartbeatsAllowed?: number;
  agentVersion?: string;
};

/** The agent confirmed its registration over the stream: it may receive work. */
export type WorkerRegisteredEvent = { type: 'worker.registered'; at: number };
/**
 * `running`: the attempts the controller holding the stream knows the agent
 * runs. Allocations older than one heartbeat interval that are not among them
 * are dropped (a release that never arrived, e.g. the agent lost a dispatch).
 */
export type WorkerHeartbeatEvent = { type: 'worker.heartbeat'; at: number; running?: string[] };
/** The heartbeat timer fired; `deadline` names the deadline it was armed for. */
export type WorkerHeartbeatExpiredEvent = { type: 'worker.heartbeat_expired'; at: number; deadline: number };
/** One attempt the controller is about to send the agent. */
export type AssignedAttempt = {
  taskId: string;
  attemptId: string;
  /** As the task holds them, snake_case or camelCase (normalised on arrival). */
  requirements: JsonValue;
};
/**
 * What the controller holding the agent's stream sent it (recorded before the
 * dispatches leave) and the attempts the agent reported ended, gathered over
 * one turn of the controller's event loop: one event for a hundred tasks.
 * Assignments apply first; both are idempotent by attempt id.
 */
export type WorkerAllocationsChangedEvent = { type: 'worker.allocations_changed'; at: number; assigned: AssignedAttempt[]; released: string[] };
export type WorkerTaskReleasedEvent = { type: 'worker.task_released'; at: number; attemptId: string };
export type WorkerDrainEvent = { type: 'worker.drain'; at: number; reason: string };
export type WorkerDisconnectedEvent = { type: 'worker.disconnected'; at: number };
export type WorkerReconnectedEvent = { type: 'worker.reconnected'; at: number; controllerId?: string };
/** The agent shuts down now (with or without draining first). */
export type WorkerDeregisterEvent = { type: 'worker.deregister'; at: number; reason: string };

export type WorkerEvent =
  | WorkerRegisteredEvent
  | WorkerHeartbeatEvent
  | WorkerHeartbeatExpiredEvent
  | WorkerAllocationsChangedEvent
  | WorkerTaskReleasedEvent
  | WorkerDrainEvent
  | WorkerDisconnectedEvent
  | WorkerReconnectedEvent
  | WorkerDeregisterEvent;

/** Effect kinds the worker declares (`effect` action). */
export const WORKER_EFFECT = {
  /** The worker has room for at least a minimal task: the scheduler may claim work for it. */
  capacityAvailable: 'worker.capacity_available',
  /** Tell the agent to finish its tasks and take no more. */
  drain: 'worker.drain',
  /** The registration is lost: the attempts it ran are being retried elsewhere. */
  lost: 'worker.lost',
  /** The registration ended cleanly (drained or deregistered). */
  gone: 'worker.gone',
  /** An agent spoke on a dead registration: tell it to register again. */
  reregisterRequired: 'worker.reregister_required',
} as const;
