/** `GET /api/v1/jobs/:id/metrics`: aggregate numbers over every task of a job (src/jobs/job-metrics.ts). */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { jobMetrics } from '../../jobs/job-metrics.js';
import { requirePrincipal } from '../auth/principal.js';
import { JobReader } from '../jobs/job-reader.js';
import { jobIdParamsSchema } from '../schemas/jobs.schema.js';
import type { JobRoutesOptions } from './jobs.routes.js';

export const jobMetricsRoutes: FastifyPluginCallbackZod<JobRoutesOptions> = (app, options, done) => {
  const reader = new JobReader(options.node, options.store);

  app.get('/api/v1/jobs/:id/metrics', { schema: { params: jobIdParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.id);
    return jobMetrics(job, await reader.allTasks(job), Date.now());
  });

  done();
};
