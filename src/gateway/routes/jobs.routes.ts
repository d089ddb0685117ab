/**
 * Job surfaces: submit, status, tasks, output, events, results, cancel
 * (reference: Job API and Results tables).
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { jobRef } from '../../actors/shared/ids.js';
import { stringOf, type JsonObject } from '../../shared/json.js';
import { requireMember, requirePrincipal } from '../auth/principal.js';
import { JobReader } from '../jobs/job-reader.js';
import { aggregateJob, type AggregateTask } from '../../jobs/aggregate/index.js';
import { submitJob, type SubmitDeps } from '../jobs/submit-job.js';
import { cancelBodySchema, jobIdParamsSchema, jobSubmitSchema, resultParamsSchema, taskPageQuerySchema } from '../schemas/jobs.schema.js';
import type { Store } from '../../store/store.js';

export interface JobRoutesOptions extends SubmitDeps {
  readonly store: Store;
}

const TERMINAL = new Set(['completed', 'partial', 'failed', 'cancelled']);

/** How long submit and cancel wait for the actor to apply the event before answering. */
const SETTLE_WAIT_MS = 3_000;

export const jobRoutes: FastifyPluginCallbackZod<JobRoutesOptions> = (app, options, done) => {
  const reader = new JobReader(options.node, options.store);

  const waitFor = async (probe: () => Promise<boolean>) => {
    const deadline = Date.now() + SETTLE_WAIT_MS;
    while (!(await probe()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  app.post('/api/v1/jobs', { schema: { body: jobSubmitSchema } }, async (request, reply) => {
    const principal = requireMember(request);
    const { jobId } = await submitJob(options, principal.accountId, request.body);
    // The submit event is durable already; waiting lets the answer show the job as it is.
    await waitFor(() => reader.exists(principal.accountId, jobId));
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
    return { job_id: job.id, status: job.status, total: (job.summary as JsonObject).tasks ? ((job.summary as JsonObject).tasks as JsonObject).total : 0, limit, offset, tasks };
  });

  app.get('/api/v1/jobs/:id/output', { schema: { params: jobIdParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.id);
    const tasks = await reader.tasks(job, 0, 1000);
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
    return { job_id: job.id, status: job.status, output, error: job.error ?? null, tasks: perTask };
  });

  app.get('/api/v1/jobs/:id/events', { schema: { params: jobIdParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.id);
    const events = await reader.events(stringOf(job.id));
    return { job_id: job.id, events: events.map((e) => ({ seq: e.seq, at: new Date(e.at).toISOString(), type: e.type, data: e.data ?? null })) };
  });

  app.put('/api/v1/jobs/:id/cancel', { schema: { params: jobIdParamsSchema, body: cancelBodySchema } }, async (request) => {
    const principal = requireMember(request);
    const job = await reader.job(principal.accountId, request.params.id);
    if (TERMINAL.has(stringOf(job.status))) return job;
    const reason = request.body?.reason ?? 'cancelled by user';
    await options.node.send([options.node.message(jobRef(stringOf(job.id)), { type: 'job.cancel', reason })]);
    await waitFor(async () => TERMINAL.has(stringOf((await reader.job(principal.accountId, stringOf(job.id))).status)));
    return reader.job(principal.accountId, stringOf(job.id));
  });

  app.get('/api/v1/results/:job_id', { schema: { params: resultParamsSchema } }, async (request) => {
    const job = await reader.job(requirePrincipal(request).accountId, request.params.job_id);
    const tasks = await reader.tasks(job, 0, 1000);
    return resultView(job, tasks);
  });

  done();
};

function outputOf(task: JsonObject): string | null {
  const feedback = task.live_feedback as JsonObject | undefined;
  return typeof feedback?.output_tail === 'string' ? feedback.output_tail : null;
}

/**
 * The canonical result surface: raw per-task results plus the job-level
 * aggregation of its type (merge strategy, sweep or benchmark leaderboard,
 * map_reduce reduction), completeness and quality.
 */
function resultView(job: JsonObject, tasks: JsonObject[]): JsonObject {
  const aggregate = aggregateJob(stringOf(job.type, 'structured_runner'), job, tasks.map(toAggregateTask));
  return {
    job_id: job.id ?? null,
    status: job.status ?? null,
    type: job.type ?? null,
    project: job.project ?? null,
    client_ref: job.client_ref ?? null,
    tags: job.tags ?? [],
    meta: job.meta ?? null,
    variant: job.variant ?? null,
    summary: { ...(job.summary as JsonObject), ...aggregate.summary },
    aggregate_result: aggregate.aggregate_result,
    aggregate_aliases: aggregate.aggregate_aliases,
    completeness: aggregate.completeness,
    result_persisted: TERMINAL.has(stringOf(job.status)),
    output_persisted: TERMINAL.has(stringOf(job.status)),
    tasks: tasks.map((t) => ({
      task_id: t.id ?? null,
      index: t.index ?? null,
      status: t.status ?? null,
      payload: t.payload ?? null,
      result: t.result ?? null,
      result_quality: t.result_quality ?? null,
      result_warnings: t.result_warnings ?? [],
      result_present: t.result_present ?? false,
      output_present: t.output_present ?? false,
      error: t.error ?? null,
      failure_kind: t.failure_kind ?? null,
      exit_code: t.exit_code ?? null,
      attempts: Array.isArray(t.attempts) ? t.attempts.length : 0,
      runtime_s: t.runtime_s ?? null,
      project_content_hash: job.project_content_hash ?? null,
    })),
  };
}

function toAggregateTask(task: JsonObject): AggregateTask {
  return {
    index: typeof task.index === 'number' ? task.index : 0,
    task_id: stringOf(task.id),
    status: stringOf(task.status),
    payload: task.payload ?? null,
    result: task.result ?? null,
    ...(typeof task.result_quality === 'number' ? { quality: task.result_quality } : {}),
  };
}
