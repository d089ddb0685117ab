/**
 * `POST /api/v1/jobs/batch`: up to 200 job bodies in one request. Each body
 * is validated and submitted on its own, exactly as `POST /api/v1/jobs` would
 * take it, so one bad body costs only itself:
 *
 * - 201 — every job accepted;
 * - 207 — some accepted, some not (`errors` says which and why);
 * - 422 — none accepted (same envelope), since nothing was created.
 *
 * Envelope (reference): `{jobs, submitted, errors, error_count}`; an error is
 * `{index, status, error, message, details?}` where `index` is the body's
 * position in `jobs` and `status` the HTTP status that job alone would get.
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { z } from 'zod';
import { ComputalotError } from '../../shared/errors.js';
import type { JsonObject } from '../../shared/json.js';
import { requireMember } from '../auth/principal.js';
import { JobReader } from '../jobs/job-reader.js';
import { settle } from '../jobs/settle.js';
import { submitJob } from '../jobs/submit-job.js';
import { jobSubmitSchema } from '../schemas/jobs.schema.js';
import type { JobRoutesOptions } from './jobs.routes.js';

export const MAX_BATCH_JOBS = 200;

const batchBodySchema = z.strictObject({
  jobs: z.array(z.unknown()).min(1, 'jobs must hold at least one job').max(MAX_BATCH_JOBS, `at most ${MAX_BATCH_JOBS} jobs per batch`),
});

/** A 10 MB body: 200 jobs with sizeable payloads. */
const BATCH_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

interface BatchError {
  index: number;
  status: number;
  error: string;
  message: string;
  details?: unknown;
}

export const jobBatchRoutes: FastifyPluginCallbackZod<JobRoutesOptions> = (app, options, done) => {
  const reader = new JobReader(options.node, options.store);

  app.post('/api/v1/jobs/batch', { schema: { body: batchBodySchema }, bodyLimit: BATCH_BODY_LIMIT_BYTES }, async (request, reply) => {
    const { accountId } = requireMember(request);
    const accepted: { index: number; id: string }[] = [];
    const errors: BatchError[] = [];
    // In order, one at a time: submission order is the jobs' age order in the queue.
    for (const [index, raw] of request.body.jobs.entries()) {
      const parsed = jobSubmitSchema.safeParse(raw);
      if (!parsed.success) {
        errors.push({
          index,
          status: 422,
          error: 'validation_failed',
          message: 'invalid job body',
          details: { issues: parsed.error.issues.map((issue) => ({ path: `/${issue.path.join('/')}`, message: issue.message })) },
        });
        continue;
      }
      try {
        accepted.push({ index, id: (await submitJob(options, accountId, parsed.data)).jobId });
      } catch (error) {
        if (!(error instanceof ComputalotError) || error.httpStatus >= 500) throw error;
        errors.push({ index, status: error.httpStatus, error: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) });
      }
    }
    // The submit events are durable already; like a single submit, wait briefly so the answer shows the jobs as they are.
    const acceptedIds = accepted.map((job) => job.id);
    let views: (JsonObject | null)[] = [];
    await settle(async () => (views = await reader.jobsByIds(accountId, acceptedIds)).every((view) => view !== null));
    // A job whose submit event is durable but not yet applied still answers with its id.
    const jobs = accepted.map((job, i): JsonObject => ({ index: job.index, ...(views[i] ?? { id: job.id, status: 'planning' }) }));
    const status = errors.length === 0 ? 201 : accepted.length > 0 ? 207 : 422;
    const rejection = status === 422 ? { error: 'batch_rejected', message: `none of the ${errors.length} jobs was accepted; see errors` } : {};
    return reply.code(status).send({ ...rejection, jobs, submitted: accepted.length, errors, error_count: errors.length });
  });

  done();
};
