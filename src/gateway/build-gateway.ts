/**
 * Builds the HTTP gateway. It never listens (STYLE.md §6): the CLI calls
 * `listen()`, tests call `inject()`.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from '@fastify/type-provider-zod';
import { fastifySSE } from '@fastify/sse';
import type { GatewayDeps, GatewayInstance } from './gateway-types.js';
import { handleGatewayError, handleUnknownRoute } from './error-handler.js';
import { installAuthentication } from './auth/authenticate.js';
import { authRoutes } from './routes/auth.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { agentBlobRoutes } from './routes/agent-blobs.routes.js';
import { jobRoutes } from './routes/jobs.routes.js';
import { jobStreamRoutes } from './routes/job-streams.routes.js';
import { jobBatchRoutes } from './routes/job-batch.routes.js';
import { jobListRoutes } from './routes/job-lists.routes.js';
import { jobMetricsRoutes } from './routes/job-metrics.routes.js';
import { projectJobRoutes } from './routes/project-jobs.routes.js';
import { presetRoutes } from './routes/presets.routes.js';
import { projectRoutes } from './routes/projects.routes.js';

/** Upper bound on request bodies; project tarballs (≤ 100 MB) get their own limit on their route. */
const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Creates the gateway with every route registered. Routes validate input and
 * response bodies with zod; all errors go through one handler.
 */
export function buildGateway(deps: GatewayDeps): GatewayInstance {
  // Widened to Fastify's logger interface so the instance type stays the plain, shareable GatewayInstance.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    // Fastify's own /x and /x/ handling: one route answers both.
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Set before any plugin is registered so every encapsulated context inherits them.
  app.setErrorHandler(handleGatewayError);
  app.setNotFoundHandler(handleUnknownRoute);
  // Before any route: every route is authenticated unless it declares `config: { public: true }`.
  installAuthentication(app, deps.credentials);

  void app.register(healthRoutes, { readiness: deps.readiness, version: deps.version, logger: deps.logger });
  void app.register(authRoutes);
  if (deps.projects && deps.blobs) void app.register(projectRoutes, { projects: deps.projects, blobs: deps.blobs });
  if (deps.blobs) void app.register(agentBlobRoutes, { blobs: deps.blobs, agentToken: deps.agentToken });
  if (deps.jobs) {
    void app.register(jobRoutes, deps.jobs);
    void app.register(jobBatchRoutes, deps.jobs);
    void app.register(jobListRoutes, deps.jobs);
    void app.register(jobMetricsRoutes, deps.jobs);
    if (deps.projects) void app.register(projectJobRoutes, { ...deps.jobs, projects: deps.projects });
    // Before the stream routes: the plugin's onRoute hook only sees routes added after it.
    void app.register(fastifySSE);
    void app.register(jobStreamRoutes, { ...deps.jobs, projects: deps.projects });
  }
  void app.register(presetRoutes);
  return app;
}

export type { GatewayDeps, GatewayInstance, ReadinessCheck, ReadinessReport } from './gateway-types.js';
