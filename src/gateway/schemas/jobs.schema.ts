/**
 * The job submission body (`POST /api/v1/jobs`), per the reference's field
 * list. Every field is declared so a typo is a 422, not silently ignored.
 */
import { z } from 'zod';

const jsonObject = z.record(z.string(), z.unknown());
const projectName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'expected a project name (lowercase letters, digits, . _ -)');
const jobId = z.string().regex(/^job_\d{8}_\d{6}_[a-z0-9]{6}$/, 'expected a job id like job_20260312_143000_abc123');

export const requirementsSchema = z.strictObject({
  cpu: z.number().positive().max(1024).optional(),
  memory_mb: z.int().positive().max(16_777_216).optional(),
  storage_gb: z.number().nonnegative().max(1_000_000).optional(),
  gpu_count: z.int().nonnegative().max(64).optional(),
  gpu_memory_mb: z.int().nonnegative().max(1_048_576).optional(),
  profile: z.enum(['cpu', 'gpu']).optional(),
});

export const jobSubmitSchema = z.strictObject({
  type: z.enum(['structured_runner', 'sweep', 'map_reduce', 'benchmark']).optional(),
  project: projectName.optional(),
  recipe: z.string().min(1).optional(),
  runner_command: z.array(z.string().min(1).max(4096)).min(1).max(256).optional(),
  payload: jsonObject.optional(),
  timeout_s: z.int().min(1).max(7 * 24 * 3600).optional(),
  max_retries: z.int().min(0).max(20).optional(),
  priority: z.enum(['high', 'normal', 'low']).optional(),
  tags: z.array(z.string().min(1).max(128)).max(64).optional(),
  requirements: requirementsSchema.optional(),
  gpu_required: z.boolean().optional(),
  reliability_mode: z.enum(['best_effort', 'strict_complete']).optional(),
  execution_policy: z.enum(['sandboxed', 'sealed']).optional(),
  placement_policy: z.enum(['shared', 'dedicated']).optional(),
  depends_on: z.array(jobId).max(100).optional(),
  callback_url: z.url().optional(),
  meta: jsonObject.optional(),
  variant: z.unknown().optional(),
  client_ref: z.string().max(256).optional(),
  // Job engine fields (fan-out, sweep, map_reduce, benchmark, quality, reservations).
  fan_out: jsonObject.optional(),
  merge_strategy: z.enum(['collect', 'keyed', 'weighted_avg']).optional(),
  value_field: z.string().optional(),
  weight_field: z.string().optional(),
  parameters: jsonObject.optional(),
  fixed_payload: jsonObject.optional(),
  rank_by: z.string().optional(),
  rank_order: z.enum(['asc', 'desc']).optional(),
  split: jsonObject.optional(),
  reduce: z.record(z.string(), z.string()).optional(),
  candidates: jsonObject.optional(),
  shared_payload: jsonObject.optional(),
  replicas: z.int().min(1).max(100).optional(),
  replica_vary: jsonObject.optional(),
  result_schema: jsonObject.optional(),
  reservation: jsonObject.optional(),
  checkpointing: jsonObject.optional(),
});

export type JobSubmitBody = z.infer<typeof jobSubmitSchema>;

// Any string: an id that does not name one of the caller's jobs is a 404, whatever its shape.
export const jobIdParamsSchema = z.object({ id: z.string().min(1).max(200) });
export const resultParamsSchema = z.object({ job_id: z.string().min(1).max(200) });
export const taskPageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});
export const cancelBodySchema = z.object({ reason: z.string().max(1000).optional() }).optional();
