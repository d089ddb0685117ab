/**
 * Lists: `GET /api/v1/jobs` (every status) and `GET /api/v1/results` (terminal
 * jobs, with their result surface), newest first, paginated with
 * `limit`/`offset`. Both read the account's job index (src/jobs/job-index.ts).
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import type { JobIndex, JobListScope } from '../../jobs/job-index.js';
import { stringOf, type JsonObject } from '../../shared/json.js';
import { requirePrincipal } from '../auth/principal.js';
import { JobReader } from '../jobs/job-reader.js';
import { isTerminalJob, resultView } from '../jobs/result-view.js';
import { jobListQuerySchema, resultListQuerySchema, type ResultListQuery } from '../schemas/job-lists.schema.js';
import type { JobRoutesOptions } from './jobs.routes.js';

/** Tasks read per job when a result list includes them. */
const RESULT_TASKS_PER_JOB = 1000;

export const jobListRoutes: FastifyPluginCallbackZod<JobRoutesOptions> = (app, options, done) => {
  const reader = new JobReader(options.node, options.store);
  const readJobs = (accountId: string) => (ids: readonly string[]) => reader.jobsByIds(accountId, ids);

  app.get('/api/v1/jobs', { schema: { querystring: jobListQuerySchema } }, async (request) => {
    const { accountId } = requirePrincipal(request);
    const { status, project, tag, client_ref: clientRef, limit, offset } = request.query;
    const scope: JobListScope = tag !== undefined ? { tag } : project !== undefined ? { project } : {};
    const filtered = status !== undefined || clientRef !== undefined || (tag !== undefined && project !== undefined);
    const matches = (job: JsonObject) =>
      (status === undefined || status.includes(job.status as (typeof status)[number])) &&
      (project === undefined || job.project === project) &&
      (clientRef === undefined || job.client_ref === clientRef);
    const page = await options.index.page(accountId, scope, { offset, limit, ...(filtered ? { matches } : {}) }, readJobs(accountId));
    return {
      jobs: page.jobs,
      limit,
      offset,
      count: page.jobs.length,
      has_more: page.hasMore,
      // Exact only when the list read holds nothing but matches.
      total: filtered ? null : await options.index.count(accountId, scope),
      ...(page.truncated ? { truncated: true } : {}),
    };
  });

  app.get('/api/v1/results', { schema: { querystring: resultListQuerySchema } }, async (request) => {
    const { accountId } = requirePrincipal(request);
    const query = request.query;
    const jobs = await findResultJobs(options.index, accountId, query, readJobs(accountId));
    const results = await Promise.all(
      jobs.page.map(async (job) => {
        // Every task counts toward the aggregate; the list carries at most the first 1,000.
        const view = resultView(job, await reader.allTasks(job));
        if (!query.include_tasks) delete view.tasks;
        else if (Array.isArray(view.tasks)) view.tasks = view.tasks.slice(0, RESULT_TASKS_PER_JOB);
        return view;
      }),
    );
    return {
      results,
      limit: query.limit,
      offset: query.offset,
      count: results.length,
      has_more: jobs.hasMore,
      ...(query.group_by === undefined ? {} : { groups: groupResults(results, query.group_by) }),
      ...(jobs.truncated ? { truncated: true } : {}),
    };
  });

  done();
};

/**
 * The page of terminal jobs a result query names: explicit ids (`job_id`,
 * `ids`) are read directly; otherwise the narrowest index list is scanned.
 * `user_id` names the account: any other account's id lists nothing, exactly
 * as if it had no results.
 */
async function findResultJobs(
  index: JobIndex,
  accountId: string,
  query: ResultListQuery,
  readJobs: (ids: readonly string[]) => Promise<(JsonObject | null)[]>,
): Promise<{ page: JsonObject[]; hasMore: boolean; truncated: boolean }> {
  if (query.user_id !== undefined && query.user_id !== accountId) return { page: [], hasMore: false, truncated: false };
  const matches = (job: JsonObject) =>
    isTerminalJob(job) &&
    (query.status === undefined || query.status.includes(job.status as (typeof query.status)[number])) &&
    (query.project === undefined || job.project === query.project) &&
    (query.client_ref === undefined || job.client_ref === query.client_ref) &&
    (query.tag === undefined || (Array.isArray(job.tags) && job.tags.includes(query.tag)));
  const explicit = [...(query.job_id === undefined ? [] : [query.job_id]), ...(query.ids ?? [])];
  if (explicit.length > 0) {
    const found = (await readJobs([...new Set(explicit)])).filter((job): job is JsonObject => job !== null && matches(job));
    return { page: found.slice(query.offset, query.offset + query.limit), hasMore: found.length > query.offset + query.limit, truncated: false };
  }
  const scope: JobListScope = query.tag !== undefined ? { tag: query.tag } : query.project !== undefined ? { project: query.project } : {};
  const page = await index.page(accountId, scope, { offset: query.offset, limit: query.limit, matches }, readJobs);
  return { page: page.jobs, hasMore: page.hasMore, truncated: page.truncated };
}

/** `group_by`: counts and job ids per value of one field (a job with several tags counts under each). */
function groupResults(results: readonly JsonObject[], field: string): JsonObject[] {
  const groups = new Map<string, string[]>();
  for (const result of results) {
    const value = field === 'tag' ? result.tags : result[field];
    const keys = Array.isArray(value) ? value.map((v) => stringOf(v)) : [value === null || value === undefined ? '' : stringOf(value)];
    for (const key of keys) groups.set(key, [...(groups.get(key) ?? []), stringOf(result.job_id)]);
  }
  return [...groups].map(([key, jobIds]) => ({ key: key === '' ? null : key, count: jobIds.length, job_ids: jobIds }));
}
