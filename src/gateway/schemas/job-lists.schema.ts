/**
 * Query strings of the job and result lists. Limits and offsets are strict
 * integers: `limit=abc`, `limit=0`, `offset=-1` or `limit=1.5` are 422, never
 * silently clamped (the reference: "Malformed limit/offset → 422").
 */
import { z } from 'zod';
import { JOB_STATUSES, JOB_TERMINAL_STATUSES as TERMINAL_STATUSES } from '../../actors/job/job.events.js';

const integerText = (what: string) => z.string().regex(/^\d+$/, `expected ${what} as a whole number`).transform(Number);
const limitParam = (max: number, fallback: number) =>
  integerText('limit')
    .pipe(z.number().int().min(1, 'limit must be at least 1').max(max, `limit must be at most ${max}`))
    .optional()
    .transform((value) => value ?? fallback);
const offsetParam = () =>
  integerText('offset')
    .pipe(z.number().int().min(0).max(1_000_000, 'offset must be at most 1000000'))
    .optional()
    .transform((value) => value ?? 0);
/** `a,b,c` → ['a','b','c'] with blanks dropped. */
const commaList = (what: string, max: number) =>
  z
    .string()
    .max(20_000)
    .transform((text) => [...new Set(text.split(',').map((part) => part.trim()).filter((part) => part !== ''))])
    .pipe(z.array(z.string().max(200)).max(max, `at most ${max} ${what}`));

export const jobListQuerySchema = z.object({
  status: commaList('statuses', JOB_STATUSES.length)
    .pipe(z.array(z.enum(JOB_STATUSES, { error: `expected statuses among ${JOB_STATUSES.join(', ')}` })))
    .optional(),
  project: z.string().min(1).max(200).optional(),
  tag: z.string().min(1).max(128).optional(),
  client_ref: z.string().min(1).max(256).optional(),
  limit: limitParam(500, 50),
  offset: offsetParam(),
});
export type JobListQuery = z.output<typeof jobListQuerySchema>;

export const RESULT_GROUP_FIELDS = ['project', 'type', 'status', 'client_ref', 'tag'] as const;

export const resultListQuerySchema = z.object({
  job_id: z.string().min(1).max(200).optional(),
  ids: commaList('ids', 100).optional(),
  project: z.string().min(1).max(200).optional(),
  client_ref: z.string().min(1).max(256).optional(),
  tag: z.string().min(1).max(128).optional(),
  user_id: z.string().min(1).max(200).optional(),
  status: commaList('statuses', TERMINAL_STATUSES.length)
    .pipe(z.array(z.enum(TERMINAL_STATUSES, { error: `expected terminal statuses among ${TERMINAL_STATUSES.join(', ')}` })))
    .optional(),
  group_by: z.enum(RESULT_GROUP_FIELDS, { error: `expected group_by one of ${RESULT_GROUP_FIELDS.join(', ')}` }).optional(),
  include_tasks: z
    .enum(['true', 'false', '1', '0'], { error: 'expected include_tasks true or false' })
    .optional()
    .transform((value) => value === 'true' || value === '1'),
  limit: limitParam(200, 20),
  offset: offsetParam(),
});
export type ResultListQuery = z.output<typeof resultListQuerySchema>;
