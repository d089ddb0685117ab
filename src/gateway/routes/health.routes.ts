/**
 * Operational probes. Anonymous by the reference; logged at `warn` only, so a
 * load balancer polling every second does not flood the logs.
 */
import type { FastifyPluginCallbackZod } from '@fastify/type-provider-zod';
import type { GatewayDeps, ReadinessReport } from '../gateway-types.js';
import { livenessBodySchema, readinessBodySchema, type LivenessBody, type ReadinessBody } from '../schemas/health.schema.js';

/** Options of {@link healthRoutes}. */
export type HealthRoutesOptions = Pick<GatewayDeps, 'readiness' | 'version' | 'logger'>;

/** Registers `GET /live`, `GET /health` and `GET /ready`. */
export const healthRoutes: FastifyPluginCallbackZod<HealthRoutesOptions> = (app, options, done) => {
  const liveness: LivenessBody = { status: 'ok', version: options.version, started_at: new Date().toISOString() };
  // Remembered so a controller that was ready and lost it reads `unavailable`, not `starting`.
  let hasBeenReady = false;

  for (const url of ['/live', '/health']) {
    app.get(url, { logLevel: 'warn', config: { public: true }, schema: { response: { 200: livenessBodySchema } } }, () => liveness);
  }

  app.get('/ready', { logLevel: 'warn', config: { public: true }, schema: { response: { 200: readinessBodySchema, 503: readinessBodySchema } } }, (_request, reply) => {
    const report = probeReadiness(options);
    if (report.ready) hasBeenReady = true;
    const body: ReadinessBody = {
      status: report.ready ? 'ready' : hasBeenReady ? 'unavailable' : 'starting',
      checks: { ...report.checks },
    };
    void reply.code(report.ready ? 200 : 503);
    return body;
  });
  done();
};

/** A probe that throws must not turn into a 500 (which some balancers treat differently from 503). */
function probeReadiness(options: HealthRoutesOptions): ReadinessReport {
  try {
    return options.readiness();
  } catch (error) {
    options.logger.error({ err: error }, 'readiness probe threw');
    return { ready: false, checks: { readiness: { ok: false, detail: 'readiness probe failed' } } };
  }
}
