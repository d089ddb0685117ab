/**
 * Server-sent event streams over jobs (reference "Streaming Progress";
 * wire format in docs/streams.md): one job, a watch over 2–100 jobs, and
 * every job of a project. All three follow the store's read models by
 * polling (they change through actor commits, possibly on another
 * controller), through one shared poller per gateway.
 *
 * Everything that can fail (auth, validation, 404) fails before the first
 * frame, as an ordinary JSON error; after it, the response is a stream.
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import type { ControllerNode } from '../../actors/runtime/index.js';
import type { JobIndex } from '../../jobs/job-index.js';
import type { ProjectRegistry } from '../../projects/index.js';
import type { Store } from '../../store/store.js';
import { requirePrincipal } from '../auth/principal.js';
import { JobReader } from '../jobs/job-reader.js';
import { jobIdParamsSchema } from '../schemas/jobs.schema.js';
import { projectNameParamsSchema } from '../schemas/projects.schema.js';
import { DEFAULT_POLL_INTERVAL_MS, JobWatchHub } from '../sse/job-watch-hub.js';
import { streamJob } from '../sse/job-stream.js';
import { MAX_PROJECT_STREAM_MS, streamProject } from '../sse/project-stream.js';
import { OpenStreams } from '../sse/sse-connection.js';
import type { StreamContext } from '../sse/stream-context.js';
import { jobStreamQuerySchema, projectStreamQuerySchema, watchQuerySchema } from '../sse/stream-query.schema.js';
import { parseWatchIds, streamWatch } from '../sse/watch-stream.js';

export interface JobStreamRoutesOptions {
  readonly node: ControllerNode;
  readonly store: Store;
  /** The account's job lists; the project stream finds new jobs there. */
  readonly index: JobIndex;
  /** Enables `/api/v1/projects/:name/stream`. */
  readonly projects?: ProjectRegistry | undefined;
  /** Pause between polls of watched jobs, ms. Default 250. */
  readonly pollIntervalMs?: number;
  /** Idle time before a `ping` frame when the request names none, ms. Default 15 000. */
  readonly pingIntervalMs?: number;
  /** Longest a project stream stays open, ms. Default and ceiling: 1 h. */
  readonly maxProjectStreamMs?: number;
}

export const DEFAULT_PING_INTERVAL_MS = 15_000;

/**
 * `@fastify/sse` in manual mode: every client gets the stream whatever its
 * `Accept` header (curl sends `*\/*`), and our own `ping` frames replace the
 * plugin's comment heartbeats.
 */
const SSE_ROUTE = { kind: 'manual', heartbeat: false } as const;

export const jobStreamRoutes: FastifyPluginCallbackZod<JobStreamRoutesOptions> = (app, options, done) => {
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const defaultPingMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  const maxProjectMs = Math.min(options.maxProjectStreamMs ?? MAX_PROJECT_STREAM_MS, MAX_PROJECT_STREAM_MS);
  const reader = new JobReader(options.node, options.store);
  const context: StreamContext = { reader, hub: new JobWatchHub(reader, app.log, pollIntervalMs), streams: new OpenStreams() };

  // Open streams never end on their own soon; without this `app.close()` waits for them.
  app.addHook('preClose', (hookDone) => {
    context.hub.stop();
    context.streams.closeAll();
    hookDone();
  });

  // A static path: Fastify's router prefers it to `/api/v1/jobs/:id`, so `watch` is never read as a job id.
  app.get('/api/v1/jobs/watch', { schema: { querystring: watchQuerySchema }, sse: SSE_ROUTE }, async (request, reply) => {
    const { accountId } = requirePrincipal(request);
    const ids = parseWatchIds(request.query.ids);
    await streamWatch(context, reply, { pingIntervalMs: request.query.ping_interval_ms ?? defaultPingMs }, accountId, ids);
  });

  app.get('/api/v1/jobs/:id/stream', { schema: { params: jobIdParamsSchema, querystring: jobStreamQuerySchema }, sse: SSE_ROUTE }, async (request, reply) => {
    const { accountId } = requirePrincipal(request);
    await streamJob(context, reply, { pingIntervalMs: request.query.ping_interval_ms ?? defaultPingMs }, accountId, request.params.id);
  });

  const projects = options.projects;
  if (projects !== undefined) {
    const feedDeps = { reader, index: options.index, hub: context.hub, logger: app.log, pollIntervalMs };
    app.get(
      '/api/v1/projects/:name/stream',
      { schema: { params: projectNameParamsSchema, querystring: projectStreamQuerySchema }, sse: SSE_ROUTE },
      async (request, reply) => {
        const { accountId } = requirePrincipal(request);
        // 404 project_not_found for a missing project or another account's, exactly like GET /api/v1/projects/:name.
        const record = await projects.get(accountId, request.params.name);
        const settings = {
          pingIntervalMs: request.query.ping_interval_ms ?? defaultPingMs,
          maxDurationMs: Math.min(request.query.max_duration_ms ?? maxProjectMs, maxProjectMs),
        };
        await streamProject(context, feedDeps, reply, settings, accountId, record.name);
      },
    );
  }
  done();
};
