import type { JsonObject, JsonValue } from '../../shared/json.js';
import { isJsonObject, readNumber, readString } from './json-fields.js';

/**
 * Resource minimums a task asks for (the submission's `requirements`), in the
 * units the API uses. A task may be placed on a larger machine; CPU work may
 * spill onto idle GPU nodes, so `profile: 'cpu'` never excludes a GPU worker.
 */
export type ResourceRequirements = {
  cpu: number;
  memoryMb: number;
  storageGb: number;
  gpuCount: number;
  /** Per GPU; GPUs are allocated whole, never shared between tasks. */
  gpuMemoryMb: number;
  profile: 'cpu' | 'gpu';
};

/** Defaults for omitted fields: 1 CPU, 512 MB memory, 1 GB storage, no GPU. */
export const DEFAULT_REQUIREMENTS: ResourceRequirements = {
  cpu: 1,
  memoryMb: 512,
  storageGb: 1,
  gpuCount: 0,
  gpuMemoryMb: 0,
  profile: 'cpu',
};

/**
 * Normalises requirements from either spelling: the API's snake_case
 * (`memory_mb`) or the internal camelCase (`memoryMb`). Asking for GPUs
 * implies the `gpu` profile, and the `gpu` profile implies at least one GPU.
 */
export function normaliseRequirements(raw: JsonValue | undefined): ResourceRequirements {
  const obj: JsonObject = isJsonObject(raw) ? raw : {};
  const askedGpus = Math.floor(pick(obj, 'gpuCount', 'gpu_count', DEFAULT_REQUIREMENTS.gpuCount));
  const profile = readString(obj, 'profile', 'cpu') === 'gpu' || askedGpus > 0 ? 'gpu' : 'cpu';
  // `profile: "gpu"` means the task needs GPU compute, so it needs at least one GPU.
  const gpuCount = profile === 'gpu' ? Math.max(1, askedGpus) : 0;
  return {
    cpu: pick(obj, 'cpu', 'cpu', DEFAULT_REQUIREMENTS.cpu),
    memoryMb: pick(obj, 'memoryMb', 'memory_mb', DEFAULT_REQUIREMENTS.memoryMb),
    storageGb: pick(obj, 'storageGb', 'storage_gb', DEFAULT_REQUIREMENTS.storageGb),
    gpuCount,
    gpuMemoryMb: pick(obj, 'gpuMemoryMb', 'gpu_memory_mb', DEFAULT_REQUIREMENTS.gpuMemoryMb),
    profile,
  };
}

/**
 * One dimension in either spelling, never negative. A module function, not a
 * closure: this runs for every task created, and tsx (which runs the
 * controller) names each closure it creates with an `Object.defineProperty`.
 */
function pick(obj: JsonObject, camel: string, snake: string, fallback: number): number {
  return Math.max(0, readNumber(obj, camel, readNumber(obj, snake, fallback)));
}

/** The public (snake_case) spelling of requirements, for read models and effects. */
export function requirementsToJson(req: ResourceRequirements): JsonObject {
  return {
    cpu: req.cpu,
    memory_mb: req.memoryMb,
    storage_gb: req.storageGb,
    gpu_count: req.gpuCount,
    gpu_memory_mb: req.gpuMemoryMb,
    profile: req.profile,
  };
}
