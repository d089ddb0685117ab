import t, { type Test } from 'tap';
import { buildGateway, type GatewayDeps, type GatewayInstance } from '../../src/gateway/index.js';
import { requireMember, requirePrincipal } from '../../src/gateway/auth/principal.js';
import { silentLogger } from '../../src/shared/logger.js';
import { bearer, makeTestCredentials, type TestCredentials } from '../helpers/credentials.js';

const starting = { ready: false, checks: {} };

/** A gateway over real credentials, plus test routes: one per role requirement and one public. */
async function gateway(t: Test, credentials: GatewayDeps['credentials']): Promise<GatewayInstance> {
  const app = buildGateway({ logger: silentLogger(), version: 'test', readiness: () => starting, credentials });
  app.get('/test/whoami', (request) => requirePrincipal(request));
  app.post('/test/mutate', (request) => ({ mutatedBy: requireMember(request).accountId }));
  app.post('/api/v1/feedback', { config: { public: true } }, (request) => ({ principal: request.principal ?? null }));
  await app.ready();
  t.teardown(() => app.close());
  return app;
}

async function setUp(t: Test): Promise<{ app: GatewayInstance; creds: TestCredentials }> {
  const creds = await makeTestCredentials(t);
  return { app: await gateway(t, creds.credentials), creds };
}

t.test('401 shapes: missing, malformed, unknown and revoked tokens', async (t) => {
  const { app, creds } = await setUp(t);
  const whoami = (authorization?: string) => app.inject({ method: 'GET', url: '/test/whoami', headers: authorization === undefined ? {} : { authorization } });

  const missing = await whoami();
  t.equal(missing.statusCode, 401);
  t.match(missing.json(), { error: { code: 'unauthorized', message: /Authorization: Bearer <token>.*flk_/, details: { reason: 'missing_token' } } });
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="computalot"');

  const cases: [string, string][] = [
    ['Basic dXNlcjpwYXNz', 'malformed_header'],
    ['Bearer', 'malformed_header'],
    [`Bearer ${creds.memberToken} extra`, 'malformed_header'],
    ['Bearer not-a-token', 'malformed_token'],
    [bearer(`flk_${'x'.repeat(40)}`), 'unknown_token'],
    [bearer(`fls_${'x'.repeat(40)}`), 'unknown_token'],
  ];
  for (const [authorization, reason] of cases) {
    const response = await whoami(authorization);
    t.equal(response.statusCode, 401, authorization);
    t.match(response.json(), { error: { code: 'unauthorized', message: String, details: { reason } } }, authorization);
    t.match(response.headers['www-authenticate'], /^Bearer realm="computalot", error="invalid_(request|token)"$/);
    t.notMatch(response.body, creds.memberToken, 'never echoes a token');
  }

  const listed = await creds.credentials.listKeys(creds.accountId);
  const memberKey = listed.find((key) => key.role === 'member');
  if (memberKey === undefined) throw new Error('member key missing');
  t.equal((await whoami(bearer(creds.memberToken))).statusCode, 200);
  await creds.credentials.revokeApiKey(memberKey.key_id);
  const revoked = await whoami(bearer(creds.memberToken));
  t.equal(revoked.statusCode, 401);
  t.match(revoked.json(), { error: { code: 'unauthorized', message: /revoked/, details: { reason: 'revoked' } } });
});

t.test('member and viewer keys: principal set, viewers refused on mutations', async (t) => {
  const { app, creds } = await setUp(t);
  const member = await app.inject({ method: 'GET', url: '/test/whoami', headers: { authorization: bearer(creds.memberToken) } });
  t.equal(member.statusCode, 200);
  t.match(member.json(), { accountId: creds.accountId, role: 'member', credentialId: /^key_/ });
  t.notMatch(member.body, creds.memberToken.slice(4));

  const lowercaseScheme = await app.inject({ method: 'GET', url: '/test/whoami', headers: { authorization: `bearer ${creds.viewerToken}` } });
  t.equal(lowercaseScheme.statusCode, 200, 'the scheme is case-insensitive');
  t.match(lowercaseScheme.json(), { role: 'viewer' });

  const viewerWrite = await app.inject({ method: 'POST', url: '/test/mutate', headers: { authorization: bearer(creds.viewerToken) } });
  t.equal(viewerWrite.statusCode, 403);
  t.match(viewerWrite.json(), { error: { code: 'forbidden', message: /read-only/ } });

  const memberWrite = await app.inject({ method: 'POST', url: '/test/mutate', headers: { authorization: bearer(creds.memberToken) } });
  t.equal(memberWrite.statusCode, 200);
  t.same(memberWrite.json(), { mutatedBy: creds.accountId });

  const { token } = await creds.credentials.issueWalletSession(creds.accountId, { ttlMs: 60_000 });
  const session = await app.inject({ method: 'GET', url: '/test/whoami', headers: { authorization: bearer(token) } });
  t.equal(session.statusCode, 200, 'fls_ wallet sessions authenticate too');
  t.match(session.json(), { accountId: creds.accountId, role: 'member', credentialId: /^wss_/ });
});

t.test('public routes need no token; unknown routes stay 404', async (t) => {
  const { app } = await setUp(t);
  for (const url of ['/health', '/live']) t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 503, '/ready answers (not 401) while starting');

  const feedback = await app.inject({ method: 'POST', url: '/api/v1/feedback', payload: {}, headers: { authorization: 'Bearer garbage' } });
  t.equal(feedback.statusCode, 200, 'a route declaring config.public is open, and ignores a bad token');
  t.same(feedback.json(), { principal: null });

  const unknown = await app.inject({ method: 'GET', url: '/api/v1/nope' });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { error: { code: 'not_found' } });
});

t.test('POST /api/v1/auth/register is always 403 with waitlist guidance', async (t) => {
  const { app, creds } = await setUp(t);
  for (const headers of [{}, { authorization: bearer(creds.memberToken) }]) {
    const response = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: 'me@example.com' }, headers });
    t.equal(response.statusCode, 403);
    t.match(response.json(), {
      error: {
        code: 'registration_closed',
        message: /waitlist.*API key \(flk_…\)/s,
        details: { waitlist_url: '/', api_key_prefix: 'flk_', wallet_challenge_url: '/api/v1/auth/wallet/challenge' },
      },
    });
  }
});

t.test('a store outage while checking a token is 503, not 401', async (t) => {
  const app = await gateway(t, {
    resolveToken: () => Promise.reject(new Error('ECONNREFUSED /tmp/redis.sock')),
  });
  const response = await app.inject({ method: 'GET', url: '/test/whoami', headers: { authorization: bearer(`flk_${'a'.repeat(40)}`) } });
  t.equal(response.statusCode, 503);
  t.same(response.json(), { error: { code: 'unavailable', message: 'credentials cannot be checked right now; retry shortly' } });
});
