/**
 * GPU discovery with `nvidia-smi`. Declared GPUs in the config win; otherwise the
 * agent asks the driver. A node without the binary simply has no GPUs.
 */
import { execFile } from 'node:child_process';
import type { Gpu } from '../gen/computalot/agent/v1/agent.js';

/** The query the agent runs; its output is what {@link parseNvidiaSmiGpus} reads. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'] as const;

/** nvidia-smi can hang on a wedged driver: give up after this long, in ms. */
const NVIDIA_SMI_TIMEOUT_MS = 10_000;

/**
 * Parses `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`,
 * one GPU per line: `0, NVIDIA H200, 143771`. Names may contain commas, so the
 * first field is the index, the last the memory in MiB, and the rest the name.
 * Lines that do not parse (driver warnings, `[N/A]` memory) are skipped.
 */
export function parseNvidiaSmiGpus(output: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 3) continue;
    const index = Number(fields[0]);
    const memoryMb = Number(fields[fields.length - 1]);
    const name = fields.slice(1, -1).join(', ');
    if (!Number.isInteger(index) || index < 0 || !Number.isFinite(memoryMb) || memoryMb <= 0 || name === '') continue;
    gpus.push({ index, name, memoryMb: Math.floor(memoryMb) });
  }
  return gpus.sort((a, b) => a.index - b.index);
}

/** Where nvidia-smi was looked for and what it said; for the agent's startup log. */
export interface GpuDetection {
  readonly gpus: Gpu[];
  /** Why no GPUs were found, when none were: `nvidia-smi not found`, its error… */
  readonly note?: string;
}

/**
 * Runs nvidia-smi (from PATH, or `binary`) and parses its answer. Never throws:
 * a missing binary or a failing driver means "no GPUs", with the reason in `note`.
 */
export async function detectNvidiaGpus(binary = 'nvidia-smi'): Promise<GpuDetection> {
  return new Promise((resolve) => {
    execFile(binary, [...NVIDIA_SMI_ARGS], { timeout: NVIDIA_SMI_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout) => {
      if (error !== null) {
        const code = (error as NodeJS.ErrnoException).code;
        resolve({ gpus: [], note: code === 'ENOENT' ? `${binary} not found` : `${binary} failed: ${error.message.split('\n')[0] ?? ''}` });
        return;
      }
      const gpus = parseNvidiaSmiGpus(stdout);
      resolve(gpus.length > 0 ? { gpus } : { gpus, note: `${binary} listed no GPUs` });
    });
  });
}
