/**
 * Job surfaces: submit, status, tasks, output, events, results, cancel
 * (reference: Job API and Results tables).
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { jobRef } from '../../actors/shared/ids.js';
import { stringOf, type JsonObject } from '../../shared/json.js';
import { requireMember, requirePrincipal } from '../auth/principal.js';
import { JobReader, taskTotal } from '../jobs/job-reader.js';
import { isTerminalJob, resultView } from '../jobs/result-view.js';
import { settle } from '../jobs/settle.js';
import { submitJob, type SubmitDeps } from '../jobs/submit-job.js';
import { cancelBodySchema, jobIdParamsSchema, jobSubmitSchema, resultParamsSchema, taskPageQuerySchema } from '../schemas/jobs.schema.js';
import type { Store } from '../../store/store.js';

export interface JobRoutesOptions extends SubmitDeps {
  readonly store: Store;
}

/** Tasks whose output `/output` joins. */
const OUTPUT_TASKS = 1000;


export const jobRoutes: FastifyPluginCallbackZod<JobRoutesOptions> = (app, options, done) => {
  const reader = new JobReader(options.node, options.store);

  app.post('/api/v1/jobs', { schema: { body: jobSubmitSchema } }, async (request, reply) => {
    const principal = requireMember(request);
    const { jobId } = await submitJob(options, principal.accountId, request.body);
    // The submit event is durable already; waiting lets the answer show the job as it is.
    await settle(() => reader.exists(principal.accountId, jobId));
    const job = (await reader.exists(principal.accountId, jobId)) ? await reader.job(principal.accountId, jobId) : { id: jobId, status: 'planning' };
    return reply.code(201).send(job);
  });

  app.get('/api/v1/jobs/:id', { schema: { params: jobIdParamsSchema } }, async (request) => {
    return reader.job(requirePrincipal(request).accountId, request.params.id);
  });

  app.get('/api/v1/jobs/:id/tasks', { schema: { params: jobIdParamsSchema, querystring: taskPageQuerySchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.id);
    const { limit, offset } = request.query;
    const tasks = await reader.tasks(job, offset, limit);
    return { job_id: job.id, status: job.status, total: taskTotal(job), limit, offset, tasks };
  });

  app.get('/api/v1/jobs/:id/output', { schema: { params: jobIdParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.id);
    // Diagnostics of the first OUTPUT_TASKS tasks; `tasks_total` says when there are more (see /tasks to page).
    const tasks = await reader.tasks(job, 0, OUTPUT_TASKS);
    const perTask = tasks.map((task) => ({
      task_id: task.id,
      status: task.status,
      attempt: task.attempt,
      output: outputOf(task),
      error: task.error ?? null,
    }));
    const output = perTask
      .filter((t) => t.output !== null)
      .map((t) => (perTask.length === 1 ? t.output : `── ${stringOf(t.task_id)} ──\n${t.output}`))
      .join('\n');
    return { job_id: job.id, status: job.status, output, error: job.error ?? null, tasks: perTask, tasks_total: taskTotal(job), truncated: taskTotal(job) > OUTPUT_TASKS };
  });

  app.get('/api/v1/jobs/:id/events', { schema: { params: jobIdParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.id);
    const events = await reader.events(stringOf(job.id));
    return { job_id: job.id, events: events.map((e) => ({ seq: e.seq, at: new Date(e.at).toISOString(), type: e.type, data: e.data ?? null })) };
  });

  app.put('/api/v1/jobs/:id/cancel', { schema: { params: jobIdParamsSchema, body: cancelBodySchema } }, async (request) => {
    const principal = requireMember(request);
    const job = await reader.job(principal.accountId, request.params.id);
    if (isTerminalJob(job)) return job;
    const reason = request.body?.reason ?? 'cancelled by user';
    await options.node.send([options.node.message(jobRef(stringOf(job.id)), { type: 'job.cancel', reason })]);
    await settle(async () => isTerminalJob(await reader.job(principal.accountId, stringOf(job.id))));
    return reader.job(principal.accountId, stringOf(job.id));
  });

  app.get('/api/v1/results/:job_id', { schema: { params: resultParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.job_id);
    // Every task: the aggregate, completeness and quality are over the whole job.
    return resultView(job, await reader.allTasks(job));
  });

  done();
};

function outputOf(task: JsonObject): string | null {
  const feedback = task.live_feedback as JsonObject | undefined;
  return typeof feedback?.output_tail === 'string' ? feedback.output_tail : null;
}
