import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ActorKind, PersistedActorState } from '../runtime/actor-kind.js';
import { ENTITY_KIND, isoOrNull } from '../shared/ids.js';
import { isJsonObject, readCount, readNumber, readString, readStringArray, readStringOrNull } from '../shared/json-fields.js';
import type { GpuDevice, WorkerCapacity, WorkerInput } from './worker.events.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_MISSED_HEARTBEATS_ALLOWED, freeCapacity, type WorkerContext } from './worker.logic.js';
import { workerMachine, type WorkerMachine } from './worker.machine.js';

/**
 * Normalises advertised capacity from either spelling (`memory_mb` /
 * `memoryMb`). GPUs are numbered by position unless the agent gives an index.
 */
export function normaliseCapacity(raw: JsonValue | undefined): WorkerCapacity {
  const obj: JsonObject = isJsonObject(raw) ? raw : {};
  const num = (camel: string, snake: string) => Math.max(0, readNumber(obj, camel, readNumber(obj, snake, 0)));
  const gpuList = Array.isArray(obj['gpus']) ? obj['gpus'] : [];
  const gpus: GpuDevice[] = gpuList.filter(isJsonObject).map((gpu, position) => ({
    index: readCount(gpu, 'index', position),
    memoryMb: Math.max(0, readNumber(gpu, 'memoryMb', readNumber(gpu, 'memory_mb', 0))),
  }));
  return {
    cpu: num('cpu', 'cpu'),
    memoryMb: num('memoryMb', 'memory_mb'),
    storageGb: num('storageGb', 'storage_gb'),
    gpus,
    profile: readString(obj, 'profile', gpus.length > 0 ? 'gpu' : 'cpu') === 'gpu' ? 'gpu' : 'cpu',
    sandboxes: readStringArray(obj, 'sandboxes'),
    runtimes: readStringArray(obj, 'runtimes'),
  };
}

/** Builds the worker's input from `worker.register`; any other event to a missing worker is dropped. */
export function workerInputFromCreateEvent(id: string, event: JsonObject & { type: string; at: number }): WorkerInput | undefined {
  if (event.type !== 'worker.register') return undefined;
  return {
    workerId: id,
    controllerId: readStringOrNull(event, 'controllerId'),
    capacity: normaliseCapacity(event['capacity']),
    heartbeatIntervalMs: Math.max(1, readNumber(event, 'heartbeatIntervalMs', DEFAULT_HEARTBEAT_INTERVAL_MS)),
    missedHeartbeatsAllowed: Math.max(1, readCount(event, 'missedHeartbeatsAllowed', DEFAULT_MISSED_HEARTBEATS_ALLOWED)),
    agentVersion: readStringOrNull(event, 'agentVersion'),
    registeredAt: event.at,
  };
}

const gpusToJson = (gpus: readonly GpuDevice[]) => gpus.map((gpu) => ({ index: gpu.index, memory_mb: gpu.memoryMb }));

/** The operator and scheduler view of a worker (never shown to tenants). */
export function workerReadModel(state: PersistedActorState, id: string): JsonValue {
  const c = state.context as unknown as WorkerContext;
  const free = freeCapacity(c.capacity, c.allocations);
  return {
    id,
    status: typeof state.value === 'string' ? state.value : 'unknown',
    connected: c.connected,
    controller_id: c.controllerId,
    agent_version: c.agentVersion,
    capacity: {
      cpu: c.capacity.cpu,
      memory_mb: c.capacity.memoryMb,
      storage_gb: c.capacity.storageGb,
      gpus: gpusToJson(c.capacity.gpus),
      profile: c.capacity.profile,
      sandboxes: c.capacity.sandboxes,
      runtimes: c.capacity.runtimes,
    },
    free: { cpu: free.cpu, memory_mb: free.memoryMb, storage_gb: free.storageGb, gpus: gpusToJson(free.gpus) },
    allocations: c.allocations.map((a) => ({
      attempt_id: a.attemptId,
      task_id: a.taskId,
      cpu: a.cpu,
      memory_mb: a.memoryMb,
      storage_gb: a.storageGb,
      gpu_indexes: a.gpuIndexes,
      assigned_at: isoOrNull(a.assignedAt),
    })),
    lost_attempt_ids: c.lostAttemptIds,
    drain_reason: c.drainReason,
    end_reason: c.endReason,
    registered_at: isoOrNull(c.registeredAt),
    ready_at: isoOrNull(c.readyAt),
    last_heartbeat_at: isoOrNull(c.lastHeartbeatAt),
    heartbeat_deadline_at: isoOrNull(c.heartbeatDeadline),
    ended_at: isoOrNull(c.endedAt),
  };
}

export const workerKind: ActorKind<WorkerMachine> = {
  kind: ENTITY_KIND.worker,
  machine: workerMachine,
  routingKey(id) {
    return id;
  },
  inputFromCreateEvent: workerInputFromCreateEvent,
  createEvent: 'worker.register',
  readModel: workerReadModel,
  // Rewritten with every allocation and release of a busy agent, read by operators now and then.
  readModelStorage: 'derived',
};
