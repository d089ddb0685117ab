/** zod schemas of the project endpoints (`/api/v1/projects…`). */
import { z } from 'zod';

const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const projectNameParamsSchema = z.object({
  name: z.string().regex(PROJECT_NAME, { error: "project names are 1–63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit" }),
});

const remoteDir = z
  .string({ error: 'expected an absolute path' })
  .max(4096)
  .regex(/^\/(?!.*(^|\/)\.\.(\/|$))[^\0]*$/, { error: 'remote_dir must be an absolute path without ".."' });

const envMap = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'environment variable names are letters, digits and _' })
      .refine((name) => !name.startsWith('COMPUTALOT_'), { error: 'COMPUTALOT_* variables are reserved for the runtime protocol' }),
    z.string().max(32 * 1024),
  )
  .refine((env) => Object.keys(env).length <= 256, { error: 'at most 256 environment variables' });

const setupTimeout = z.number().int().min(1).max(86_400, { error: 'setup_timeout_s is at most 86400 (24 h)' });

export const createProjectBodySchema = z.object({
  name: projectNameParamsSchema.shape.name,
  remote_dir: remoteDir,
  env: envMap.optional(),
  setup_timeout_s: setupTimeout.optional(),
});

export const updateProjectBodySchema = z
  .object({ remote_dir: remoteDir.optional(), env: envMap.optional(), setup_timeout_s: setupTimeout.optional() })
  .refine((body) => body.remote_dir !== undefined || body.env !== undefined || body.setup_timeout_s !== undefined, {
    error: 'set at least one of remote_dir, env, setup_timeout_s (code changes go through push)',
  });

/** POST /init takes `{}`; extra keys are ignored so future options stay compatible. */
export const initProjectBodySchema = z.object({}).optional();

const initState = z.enum(['uninitialized', 'initializing', 'refreshing', 'ready', 'failed']);

export const projectStatusSchema = z.object({
  name: z.string(),
  content_hash: z.string().nullable(),
  can_accept_new_jobs: z.boolean(),
  ready_for_jobs: z.boolean(),
  init_state: initState,
  status_message: z.string(),
  next_action: z.string(),
  updated_at: z.string(),
});

export const projectStatusDetailsSchema = projectStatusSchema.extend({
  setup_timeout_s: z.number(),
  init_started_at: z.string().nullable(),
  init_message: z.string().nullable(),
  nodes: z.array(
    z.object({
      worker_id: z.string(),
      state: z.string(),
      content_hash: z.string(),
      current: z.boolean(),
      message: z.string().nullable(),
      updated_at: z.string(),
    }),
  ),
});

export const projectViewSchema = projectStatusSchema.extend({
  remote_dir: z.string(),
  env: z.record(z.string(), z.string()),
  setup_timeout_s: z.number(),
  created_at: z.string(),
  active_revision: z
    .object({
      content_hash: z.string(),
      tarball_sha256: z.string(),
      size: z.number(),
      unpacked_size: z.number(),
      pushed_at: z.string(),
      file_count: z.number(),
      manifest: z.record(z.string(), z.unknown()),
      build_plan: z.record(z.string(), z.unknown()),
    })
    .nullable(),
});

export const projectListSchema = z.object({ projects: z.array(projectViewSchema) });

const fileList = z.array(z.string());

export const pushResponseSchema = z.object({
  name: z.string(),
  content_hash: z.string(),
  tarball_sha256: z.string(),
  size: z.number(),
  unpacked_size: z.number(),
  files: z.number(),
  tarball_diff: z.object({ added_files: fileList, removed_files: fileList, changed_files: fileList }).optional(),
  can_accept_new_jobs: z.boolean(),
  ready_for_jobs: z.boolean(),
  init_state: initState,
  init_status: z.object({ init_state: initState }),
  status_message: z.string(),
  next_action: z.string(),
  warnings: z.array(z.string()),
});

export type ProjectView = z.infer<typeof projectViewSchema>;
