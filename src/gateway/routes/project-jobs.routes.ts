/**
 * `PUT /api/v1/projects/:name/cancel-queued`: cancels every job of one project
 * that has not started (`planning` or `queued`), optionally only those with a
 * tag (`?tag=` or body `{"tag": …}`). Running jobs are left alone, even one
 * that starts between the listing and the cancel (the cancel says so).
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import { z } from 'zod';
import { jobRef } from '../../actors/shared/ids.js';
import { MAX_SCANNED } from '../../jobs/job-index.js';
import type { ProjectRegistry } from '../../projects/index.js';
import { stringOf, type JsonObject } from '../../shared/json.js';
import { requireMember } from '../auth/principal.js';
import { JobReader } from '../jobs/job-reader.js';
import type { JobRoutesOptions } from './jobs.routes.js';

export interface ProjectJobRoutesOptions extends JobRoutesOptions {
  readonly projects: ProjectRegistry;
}

const NOT_STARTED = new Set(['planning', 'queued']);
/** Jobs listed per index read. */
const PAGE = 500;

const paramsSchema = z.object({ name: z.string().min(1).max(200) });
const querySchema = z.object({ tag: z.string().min(1).max(128).optional() });
const bodySchema = z.object({ tag: z.string().min(1).max(128).optional(), reason: z.string().max(1000).optional() }).nullish();

export const projectJobRoutes: FastifyPluginCallbackZod<ProjectJobRoutesOptions> = (app, options, done) => {
  const reader = new JobReader(options.node, options.store);

  app.put('/api/v1/projects/:name/cancel-queued', { schema: { params: paramsSchema, querystring: querySchema, body: bodySchema } }, async (request) => {
    const { accountId } = requireMember(request);
    const { name } = request.params;
    // 404 for a project that is missing or another account's.
    await options.projects.get(accountId, name);
    const tag = request.query.tag ?? request.body?.tag;
    const reason = request.body?.reason ?? `cancel-queued on project ${name}`;

    const matches = (job: JsonObject) => NOT_STARTED.has(stringOf(job.status)) && job.project === name && (tag === undefined || (Array.isArray(job.tags) && job.tags.includes(tag)));
    const readJobs = (ids: readonly string[]) => reader.jobsByIds(accountId, ids);
    const scope = tag === undefined ? { project: name } : { tag };
    const targets: string[] = [];
    for (let offset = 0; offset < MAX_SCANNED; offset += PAGE) {
      const page = await options.index.page(accountId, scope, { offset, limit: PAGE }, readJobs);
      targets.push(...page.jobs.filter(matches).map((job) => stringOf(job.id)));
      if (!page.hasMore) break;
    }
    for (let i = 0; i < targets.length; i += PAGE) {
      await options.node.send(targets.slice(i, i + PAGE).map((jobId) => options.node.message(jobRef(jobId), { type: 'job.cancel', reason, onlyIfNotStarted: true })));
    }
    return { project: name, tag: tag ?? null, cancelled: targets.length, job_ids: targets };
  });

  done();
};
