import t, { type Test } from 'tap';
import { z } from 'zod';
import { buildGateway, type GatewayInstance, type ReadinessReport } from '../../src/gateway/index.js';
import { ConflictError, UnavailableError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';

interface Harness {
  readonly app: GatewayInstance;
  setReadiness(report: ReadinessReport | (() => never)): void;
}

const starting: ReadinessReport = {
  ready: false,
  checks: { store: { ok: true }, shards: { ok: false, detail: '0/64 shards leased' } },
};
const ready: ReadinessReport = { ready: true, checks: { store: { ok: true }, shards: { ok: true, detail: '64/64 shards leased' } } };

/** A gateway with a controllable readiness probe and a few routes that fail on purpose. */
async function gatewayHarness(t: Test): Promise<Harness> {
  let current: ReadinessReport | (() => never) = starting;
  const app = buildGateway({
    logger: silentLogger(),
    version: '1.2.3',
    readiness: () => (typeof current === 'function' ? current() : current),
    // No token is valid here; the routes under test are public (auth has its own test file).
    credentials: { resolveToken: () => Promise.resolve({ ok: false, reason: 'unknown' }) },
  });
  // Test-only routes exercising the shared error handler through real Fastify plumbing.
  const open = { config: { public: true } };
  app.get('/test/conflict', open, () => {
    throw new ConflictError('project is initializing', { details: { project: 'p1' }, cause: new Error('internal detail') });
  });
  app.get('/test/unavailable', open, () => {
    throw new UnavailableError('store unreachable');
  });
  app.get('/test/crash', open, () => {
    throw new Error('secret stack detail at /srv/app.ts:12');
  });
  app.post('/test/validated', { ...open, schema: { body: z.object({ count: z.number().int() }) } }, (request) => ({ got: request.body.count }));
  await app.ready();
  t.teardown(() => app.close());
  return { app, setReadiness: (report) => (current = report) };
}

t.test('/live and /health answer 200 with the same body', async (t) => {
  const { app } = await gatewayHarness(t);
  const live = await app.inject({ method: 'GET', url: '/live' });
  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(live.statusCode, 200);
  t.equal(health.statusCode, 200);
  t.match(live.json(), { status: 'ok', version: '1.2.3', started_at: String });
  t.same(health.json(), live.json());
  t.match(live.headers['content-type'], /^application\/json/);
});

t.test('/ready is 503 starting until the controller is ready, then 200', async (t) => {
  const harness = await gatewayHarness(t);
  const before = await harness.app.inject({ method: 'GET', url: '/ready' });
  t.equal(before.statusCode, 503);
  t.same(before.json(), { status: 'starting', checks: starting.checks });

  harness.setReadiness(ready);
  const after = await harness.app.inject({ method: 'GET', url: '/ready' });
  t.equal(after.statusCode, 200);
  t.same(after.json(), { status: 'ready', checks: ready.checks });

  harness.setReadiness({ ready: false, checks: { store: { ok: false, detail: 'connection lost' } } });
  const lost = await harness.app.inject({ method: 'GET', url: '/ready' });
  t.equal(lost.statusCode, 503);
  t.match(lost.json(), { status: 'unavailable', checks: { store: { ok: false } } });

  t.equal((await harness.app.inject({ method: 'GET', url: '/live' })).statusCode, 200, 'liveness ignores readiness');
});

t.test('/ready answers 503, not 500, when the probe throws', async (t) => {
  const harness = await gatewayHarness(t);
  harness.setReadiness(() => {
    throw new Error('probe bug');
  });
  const response = await harness.app.inject({ method: 'GET', url: '/ready' });
  t.equal(response.statusCode, 503);
  t.same(response.json(), { status: 'starting', checks: { readiness: { ok: false, detail: 'readiness probe failed' } } });
});

t.test('unknown routes answer 404 in the error shape', async (t) => {
  const { app } = await gatewayHarness(t);
  const response = await app.inject({ method: 'GET', url: '/api/v1/nope?x=1' });
  t.equal(response.statusCode, 404);
  t.same(response.json(), { error: { code: 'not_found', message: 'no route for GET /api/v1/nope' } });
});

t.test('a thrown ComputalotError keeps its status, code and details; the cause stays private', async (t) => {
  const { app } = await gatewayHarness(t);
  const conflict = await app.inject({ method: 'GET', url: '/test/conflict' });
  t.equal(conflict.statusCode, 409);
  t.same(conflict.json(), { error: { code: 'conflict', message: 'project is initializing', details: { project: 'p1' } } });
  t.notMatch(conflict.body, 'internal detail');

  const unavailable = await app.inject({ method: 'GET', url: '/test/unavailable' });
  t.equal(unavailable.statusCode, 503);
  t.same(unavailable.json(), { error: { code: 'unavailable', message: 'store unreachable' } });
});

t.test('unknown errors become 500 internal without leaking', async (t) => {
  const { app } = await gatewayHarness(t);
  const response = await app.inject({ method: 'GET', url: '/test/crash' });
  t.equal(response.statusCode, 500);
  t.same(response.json(), { error: { code: 'internal', message: 'internal error' } });
  t.notMatch(response.body, 'secret');
});

t.test('validation and malformed bodies use the same shape', async (t) => {
  const { app } = await gatewayHarness(t);
  const invalid = await app.inject({ method: 'POST', url: '/test/validated', payload: { count: 'many' } });
  t.equal(invalid.statusCode, 422);
  t.match(invalid.json(), {
    error: { code: 'validation_failed', message: 'invalid request body', details: { location: 'body', issues: [{ path: '/count', message: String }] } },
  });

  const valid = await app.inject({ method: 'POST', url: '/test/validated', payload: { count: 3 } });
  t.same(valid.json(), { got: 3 });

  const malformed = await app.inject({
    method: 'POST',
    url: '/test/validated',
    headers: { 'content-type': 'application/json' },
    payload: '{"count":',
  });
  t.equal(malformed.statusCode, 400);
  t.match(malformed.json(), { error: { code: 'bad_request', message: String } });
});
