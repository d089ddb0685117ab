/**
 * What a node offers (detected, or declared in config/flags) and what is still
 * free while attempts run. Totals go into Register; free amounts into every
 * Heartbeat, so the controller places work on what is really left.
 */
import { statfs } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import type { Capacity, Gpu, TaskRequirements } from '../gen/computalot/agent/v1/agent.js';
import { detectNvidiaGpus } from './gpu-detect.js';

/** Resource profile a node advertises. */
export type NodeProfile = 'cpu' | 'gpu';

/** Values from config or flags that replace detection; unset ones are detected. */
export interface DeclaredCapacity {
  readonly cpu?: number | undefined;
  readonly memoryMb?: number | undefined;
  readonly storageGb?: number | undefined;
  /** Declared GPUs; an empty or missing list means "ask nvidia-smi". */
  readonly gpus?: readonly Gpu[] | undefined;
  /** Default: `gpu` when the node has GPUs, else `cpu`. */
  readonly profile?: NodeProfile | undefined;
}

/** Options of {@link detectCapacity}. */
export interface DetectCapacityOptions {
  /** The agent's work directory: its file system's free space is the storage offered. */
  readonly workDir: string;
  readonly declared?: DeclaredCapacity;
  /** GPU discovery; default runs nvidia-smi. Tests pass their own. */
  readonly detectGpus?: () => Promise<{ gpus: Gpu[]; note?: string }>;
}

/** A detected capacity, with how GPUs were found (for the startup log). */
export interface DetectedCapacity {
  readonly capacity: Capacity;
  readonly gpuNote?: string | undefined;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * Totals of this node: cpu = `os.availableParallelism()`, memory = `os.totalmem()`,
 * storage = free space under `workDir` (`statfs`), GPUs from nvidia-smi — each
 * replaced by its declared value when one is given.
 */
export async function detectCapacity({ workDir, declared = {}, detectGpus = detectNvidiaGpus }: DetectCapacityOptions): Promise<DetectedCapacity> {
  const cpu = declared.cpu ?? availableParallelism();
  const memoryMb = declared.memoryMb ?? Math.floor(totalmem() / MIB);
  const storageGb = declared.storageGb ?? (await freeStorageGb(workDir));
  let gpus: Gpu[];
  let gpuNote: string | undefined;
  if (declared.gpus !== undefined && declared.gpus.length > 0) {
    gpus = declared.gpus.map((gpu) => ({ ...gpu }));
  } else {
    const detection = await detectGpus();
    gpus = detection.gpus;
    gpuNote = detection.note;
  }
  const profile = declared.profile ?? (gpus.length > 0 ? 'gpu' : 'cpu');
  return { capacity: { cpu, memoryMb, storageGb, gpus, profile }, gpuNote };
}

async function freeStorageGb(dir: string): Promise<number> {
  const stats = await statfs(dir);
  // bavail: what an unprivileged writer may use, which is what tasks get.
  return Math.floor((stats.bavail * stats.bsize) / GIB);
}

/** Outcome of {@link CapacityLedger.reserve}. */
export type Reservation = { readonly ok: true; readonly gpuIndices: number[] } | { readonly ok: false; readonly shortfall: string };

interface Held {
  readonly cpu: number;
  readonly memoryMb: number;
  readonly storageGb: number;
  readonly gpuIndices: readonly number[];
}

/** Tracks what running attempts hold of the node's capacity. */
export class CapacityLedger {
  private readonly total: Capacity;
  private readonly held = new Map<string, Held>();

  constructor(total: Capacity) {
    this.total = total;
  }

  /**
   * Sets resources aside for `attemptId` when they fit what is free, choosing
   * specific GPUs (the lowest free indices with enough memory). Reserving an
   * attempt twice returns its existing GPUs.
   */
  reserve(attemptId: string, requirements: TaskRequirements | undefined): Reservation {
    const existing = this.held.get(attemptId);
    if (existing !== undefined) return { ok: true, gpuIndices: [...existing.gpuIndices] };
    const need = requirements ?? { cpu: 0, memoryMb: 0, storageGb: 0, gpus: 0, gpuMemoryMb: 0 };
    const free = this.free();
    const lacking: string[] = [];
    if (need.cpu > free.cpu) lacking.push(`cpu ${need.cpu} > ${free.cpu} free`);
    if (need.memoryMb > free.memoryMb) lacking.push(`memory ${need.memoryMb} MiB > ${free.memoryMb} free`);
    if (need.storageGb > free.storageGb) lacking.push(`storage ${need.storageGb} GiB > ${free.storageGb} free`);
    const candidates = free.gpus.filter((gpu) => gpu.memoryMb >= need.gpuMemoryMb);
    if (need.gpus > candidates.length) lacking.push(`gpus ${need.gpus} (≥ ${need.gpuMemoryMb} MiB) > ${candidates.length} free`);
    if (lacking.length > 0) return { ok: false, shortfall: `not enough free capacity: ${lacking.join(', ')}` };
    const gpuIndices = candidates.slice(0, need.gpus).map((gpu) => gpu.index);
    this.held.set(attemptId, { cpu: need.cpu, memoryMb: need.memoryMb, storageGb: need.storageGb, gpuIndices });
    return { ok: true, gpuIndices };
  }

  release(attemptId: string): void {
    this.held.delete(attemptId);
  }

  /** Capacity not held by any attempt; GPUs listed are the idle ones. */
  free(): Capacity {
    let cpu = this.total.cpu;
    let memoryMb = this.total.memoryMb;
    let storageGb = this.total.storageGb;
    const busyGpus = new Set<number>();
    for (const held of this.held.values()) {
      cpu -= held.cpu;
      memoryMb -= held.memoryMb;
      storageGb -= held.storageGb;
      for (const index of held.gpuIndices) busyGpus.add(index);
    }
    return {
      cpu: Math.max(0, cpu),
      memoryMb: Math.max(0, memoryMb),
      storageGb: Math.max(0, storageGb),
      gpus: this.total.gpus.filter((gpu) => !busyGpus.has(gpu.index)).map((gpu) => ({ ...gpu })),
      profile: this.total.profile,
    };
  }
}
