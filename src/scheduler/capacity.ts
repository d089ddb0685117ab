import type { ResourceRequirements } from '../actors/shared/resources.js';
import type { Capacity } from '../gen/computalot/agent/v1/agent.js';

/** What a worker can still take: totals minus what is placed on it. */
export interface FreeCapacity {
  cpu: number;
  memoryMb: number;
  storageGb: number;
  /** Memory of each free GPU, MB; GPUs are allocated whole. */
  gpus: number[];
  profile: 'cpu' | 'gpu';
}

export function capacityFromRegister(capacity: Capacity | undefined): FreeCapacity {
  return {
    cpu: capacity?.cpu ?? 0,
    memoryMb: capacity?.memoryMb ?? 0,
    storageGb: capacity?.storageGb ?? 0,
    gpus: (capacity?.gpus ?? []).map((gpu) => gpu.memoryMb),
    profile: capacity?.profile === 'gpu' ? 'gpu' : 'cpu',
  };
}

/**
 * Requirements are minimums (ARCHITECTURE.md §5): a task fits when every
 * dimension is available. CPU tasks may land on GPU workers (spill); GPU
 * tasks need `gpuCount` free GPUs each with at least `gpuMemoryMb`.
 */
export function fits(requirements: ResourceRequirements, free: FreeCapacity): boolean {
  if (requirements.cpu > free.cpu || requirements.memoryMb > free.memoryMb || requirements.storageGb > free.storageGb) return false;
  if (requirements.gpuCount === 0) return true;
  return free.gpus.filter((memory) => memory >= requirements.gpuMemoryMb).length >= requirements.gpuCount;
}

/** Free capacity after placing `requirements` (call only when `fits`). */
export function subtract(free: FreeCapacity, requirements: ResourceRequirements): FreeCapacity {
  const gpus = [...free.gpus].sort((a, b) => a - b);
  // Best fit: take the smallest GPUs that are big enough, keeping large ones for large asks.
  for (let taken = 0; taken < requirements.gpuCount; taken++) {
    const index = gpus.findIndex((memory) => memory >= requirements.gpuMemoryMb);
    if (index >= 0) gpus.splice(index, 1);
  }
  return { cpu: free.cpu - requirements.cpu, memoryMb: free.memoryMb - requirements.memoryMb, storageGb: free.storageGb - requirements.storageGb, gpus, profile: free.profile };
}
