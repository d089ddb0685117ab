/**
 * Named resource presets (`GET /api/v1/presets`): common `requirements`
 * shapes a client can copy into a submission. Requirements are minimums, so
 * a preset never pins a machine; it only says what a task needs.
 */
export interface ResourcePreset {
  readonly name: string;
  readonly description: string;
  readonly requirements: {
    readonly cpu: number;
    readonly memory_mb: number;
    readonly storage_gb: number;
    readonly gpu_count: number;
    readonly gpu_memory_mb: number;
    readonly profile: 'cpu' | 'gpu';
  };
}

export const RESOURCE_PRESETS: readonly ResourcePreset[] = [
  { name: 'cpu-small', description: 'Scripts, evaluations, light simulations', requirements: { cpu: 1, memory_mb: 2048, storage_gb: 5, gpu_count: 0, gpu_memory_mb: 0, profile: 'cpu' } },
  { name: 'cpu-medium', description: 'Data processing, parallel simulations', requirements: { cpu: 4, memory_mb: 8192, storage_gb: 20, gpu_count: 0, gpu_memory_mb: 0, profile: 'cpu' } },
  { name: 'cpu-large', description: 'Heavy CPU work, large in-memory datasets', requirements: { cpu: 16, memory_mb: 65536, storage_gb: 100, gpu_count: 0, gpu_memory_mb: 0, profile: 'cpu' } },
  { name: 'gpu-16g', description: 'Inference and fine-tuning of small models', requirements: { cpu: 4, memory_mb: 16384, storage_gb: 40, gpu_count: 1, gpu_memory_mb: 16384, profile: 'gpu' } },
  { name: 'gpu-80g', description: 'Training and large-model inference', requirements: { cpu: 8, memory_mb: 65536, storage_gb: 200, gpu_count: 1, gpu_memory_mb: 81920, profile: 'gpu' } },
];
