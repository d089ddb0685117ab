import { normaliseRequirements, type ResourceRequirements } from '../shared/resources.js';
import type { AssignedAttempt, GpuDevice, WorkerCapacity, WorkerInput } from './worker.events.js';

/**
 * The smallest task the scheduler places: 1 CPU and 256 MB. A worker with room
 * for it is `ready`; one without is `busy`. Defined by capacity, not by task
 * count, so a 64-core node keeps taking work while a 1-core node with one task
 * does not.
 */
export const MINIMAL_TASK = { cpu: 1, memoryMb: 256 } as const;
/** Heartbeat defaults: every 5 s, lost after 3 missed. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
export const DEFAULT_MISSED_HEARTBEATS_ALLOWED = 3;

/** One dispatched attempt's share of the worker. */
export type Allocation = {
  attemptId: string;
  taskId: string;
  cpu: number;
  memoryMb: number;
  storageGb: number;
  /** Indexes of the GPUs given to the attempt (whole GPUs). */
  gpuIndexes: number[];
  assignedAt: number;
};

export type FreeCapacity = { cpu: number; memoryMb: number; storageGb: number; gpus: GpuDevice[] };

/** Plain JSON (the runtime persists it as is): nulls, never `undefined`. */
export type WorkerContext = WorkerInput & {
  allocations: Allocation[];
  connected: boolean;
  lastHeartbeatAt: number;
  /** When the current heartbeat timer fires; a timer armed for an older deadline is stale. */
  heartbeatDeadline: number;
  readyAt: number | null;
  drainReason: string | null;
  endedAt: number | null;
  endReason: string | null;
  /** Attempts on this worker when it was lost (kept for the read model and the log). */
  lostAttemptIds: string[];
};

export function initialWorkerContext(input: WorkerInput): WorkerContext {
  return {
    ...input,
    allocations: [],
    connected: true,
    lastHeartbeatAt: input.registeredAt,
    heartbeatDeadline: heartbeatDeadline(input, input.registeredAt),
    readyAt: null,
    drainReason: null,
    endedAt: null,
    endReason: null,
    lostAttemptIds: [],
  };
}

export function heartbeatDeadline(config: Pick<WorkerInput, 'heartbeatIntervalMs' | 'missedHeartbeatsAllowed'>, at: number): number {
  return at + config.heartbeatIntervalMs * config.missedHeartbeatsAllowed;
}

// CPU counts may be fractional (0.5); round sums so 0.1 + 0.2 never leaves a phantom 0.0000001.
const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function freeCapacity(capacity: WorkerCapacity, allocations: readonly Allocation[]): FreeCapacity {
  // One pass: a busy agent holds a hundred allocations and this runs on every event.
  let cpu = 0;
  let memoryMb = 0;
  let storageGb = 0;
  let usedGpus: Set<number> | undefined;
  for (const a of allocations) {
    cpu += a.cpu;
    memoryMb += a.memoryMb;
    storageGb += a.storageGb;
    if (a.gpuIndexes.length > 0) for (const index of a.gpuIndexes) (usedGpus ??= new Set()).add(index);
  }
  return {
    cpu: round3(capacity.cpu - cpu),
    memoryMb: capacity.memoryMb - memoryMb,
    storageGb: round3(capacity.storageGb - storageGb),
    gpus: usedGpus === undefined ? capacity.gpus : capacity.gpus.filter((gpu) => !usedGpus.has(gpu.index)),
  };
}

export function hasRoomForMinimalTask(context: WorkerContext): boolean {
  let cpu = 0;
  let memoryMb = 0;
  for (const a of context.allocations) {
    cpu += a.cpu;
    memoryMb += a.memoryMb;
  }
  return round3(context.capacity.cpu - cpu) >= MINIMAL_TASK.cpu && context.capacity.memoryMb - memoryMb >= MINIMAL_TASK.memoryMb;
}

/**
 * One attempt's allocation. The dispatch is on its way to the agent, so it is
 * recorded even if it overcommits (a race between two claims): the worker's
 * books must match what actually runs. GPUs are the smallest free ones with
 * enough memory; if too few are free, it gets those.
 */
function allocationFor(capacity: WorkerCapacity, current: readonly Allocation[], taskId: string, attemptId: string, req: ResourceRequirements, at: number): Allocation {
  const gpuIndexes = req.gpuCount === 0 ? [] : freeCapacity(capacity, current)
    .gpus.filter((gpu) => gpu.memoryMb >= req.gpuMemoryMb)
    .sort((a, b) => a.memoryMb - b.memoryMb || a.index - b.index)
    .slice(0, req.gpuCount)
    .map((gpu) => gpu.index);
  return { attemptId, taskId, cpu: req.cpu, memoryMb: req.memoryMb, storageGb: req.storageGb, gpuIndexes, assignedAt: at };
}

export function release(allocations: readonly Allocation[], attemptId: string): Allocation[] {
  return allocations.filter((a) => a.attemptId !== attemptId);
}

/** A batch of assignments (first, see `allocationFor`) and releases, each idempotent by attempt id. */
export function applyAllocationChanges(context: WorkerContext, assigned: readonly AssignedAttempt[], released: readonly string[], at: number): Allocation[] {
  // One copy per batch, not per attempt: a batch carries up to a hundred of them.
  const allocations = [...context.allocations];
  const known = new Set(allocations.map((a) => a.attemptId));
  for (const attempt of assigned) {
    if (known.has(attempt.attemptId)) continue;
    known.add(attempt.attemptId);
    allocations.push(allocationFor(context.capacity, allocations, attempt.taskId, attempt.attemptId, normaliseRequirements(attempt.requirements), at));
  }
  if (released.length === 0) return allocations;
  const ended = new Set(released);
  return allocations.filter((a) => !ended.has(a.attemptId));
}

/**
 * Drops allocations the agent's controller no longer knows as running, once
 * they are older than a heartbeat interval (younger ones may be assignments
 * still on their way to the agent's controller's books).
 */
export function reconcileAllocations(context: WorkerContext, running: readonly string[], at: number): Allocation[] {
  const live = new Set(running);
  const settledBefore = at - context.heartbeatIntervalMs;
  const kept = context.allocations.filter((a) => live.has(a.attemptId) || a.assignedAt > settledBefore);
  return kept.length === context.allocations.length ? context.allocations : kept;
}
