import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { ConfigError, ComputalotError, NotFoundError, ValidationError, isComputalotError } from '../../src/shared/errors.js';
import { loadConfig, ENV_OVERRIDES } from '../../src/shared/config.js';
import { listConfigFields, renderConfigurationDocs } from '../../src/shared/config-docs.js';
import { isJobId, newEventId, newId, newJobId, JOB_ID_PATTERN } from '../../src/shared/ids.js';
import { createLogger } from '../../src/shared/logger.js';

const repoRoot = new URL('../../', import.meta.url);

function withConfigFile(t: Test, yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'computalot-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cluster.yml');
  writeFileSync(file, yaml);
  return file;
}

/** The ConfigError `fn` throws; fails the test when it throws something else or nothing. */
function configErrorOf(t: Test, fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    t.type(error, ConfigError);
    return error as ConfigError;
  }
  t.fail('expected a ConfigError');
  return new ConfigError('none');
}

t.test('config: defaults with no file and no env', async (t) => {
  const config = loadConfig({ env: {} });
  t.same(config.store, { kind: 'embedded', key_prefix: 'cl', data_dir: './.computalot' });
  t.equal(config.shards, 64);
  t.same(config.controller.http, { host: '127.0.0.1', port: 8080 });
  t.same(config.controller.grpc, { host: '127.0.0.1', port: 50051 });
  t.equal(config.controller.lease_ttl_ms, 10_000);
  t.equal(config.controller.heartbeat_interval_ms, 2000);
  t.equal(config.controller.replicas, 1);
  t.match(config.controller.id, /^[A-Za-z0-9._-]+-\d+-[a-z0-9]{6}$/);
  t.same(config.agents, []);
  t.equal(config.log_level, 'info');
  t.not(loadConfig({ env: {} }).controller.id, config.controller.id, 'a fresh default id per start');
});

t.test('config: the repository cluster.yml is a valid two-controller Redis topology', async (t) => {
  const config = loadConfig({ file: new URL('cluster.yml', repoRoot).pathname, env: {} });
  t.equal(config.store.kind, 'redis');
  t.equal(config.controller.replicas, 2);
  t.ok(config.agents.length >= 1);
  t.ok(config.agents.every((group) => group.name.length > 0));
});

t.test('config: precedence is defaults < file < env < overrides', async (t) => {
  const file = withConfigFile(
    t,
    ['shards: 16', 'controller:', '  http: { port: 9000, host: 0.0.0.0 }', '  lease_ttl_ms: 20000', 'agents:', '  - { cpu: 8 }', '  - { name: gpu, profile: gpu }'].join('\n'),
  );
  const config = loadConfig({
    file,
    env: { COMPUTALOT_HTTP_PORT: '9100', COMPUTALOT_SHARDS: '32', COMPUTALOT_LOG_LEVEL: 'debug', COMPUTALOT_TASK_PAYLOAD: '/not/config' },
    overrides: { shards: 8, controller: { http: { port: undefined } } },
  });
  t.equal(config.controller.http.port, 9100, 'env beats file');
  t.equal(config.controller.http.host, '0.0.0.0', 'file keeps fields env does not touch');
  t.equal(config.shards, 8, 'overrides beat env');
  t.equal(config.controller.lease_ttl_ms, 20_000);
  t.equal(config.log_level, 'debug');
  t.same(
    config.agents.map((group) => [group.name, group.cpu, group.profile]),
    [
      ['pool-1', 8, 'cpu'],
      ['gpu', 2, 'gpu'],
    ],
  );
});

t.test('config: $COMPUTALOT_CONFIG names the file; empty variables are unset', async (t) => {
  const file = withConfigFile(t, 'store:\n  redis_path: /tmp/redis.sock\n');
  const config = loadConfig({ env: { COMPUTALOT_CONFIG: file, COMPUTALOT_HTTP_PORT: '  ' } });
  t.equal(config.store.kind, 'redis', 'kind follows a redis target when not given');
  t.equal(config.store.redis_path, '/tmp/redis.sock');
  t.equal(config.controller.http.port, 8080);
});

t.test('config: a bad field in the file names the file and the path', async (t) => {
  const file = withConfigFile(t, 'controller:\n  http:\n    port: 70000\n');
  const error = configErrorOf(t, () => loadConfig({ file, env: {} }));
  t.equal(error.message, `${file}: controller.http.port: expected a number between 0 and 65535`);
  t.equal(error.code, 'config_invalid');
  t.match(error.details, { issues: [{ source: file, path: 'controller.http.port' }] });
});

t.test('config: unknown keys, list items and cross-field checks are reported by path', async (t) => {
  const file = withConfigFile(t, 'controler: {}\nagents:\n  - cpu: 0\n');
  const error = configErrorOf(t, () => loadConfig({ file, env: {} }));
  t.match(error.message, `${file}: controler: unknown field`);
  t.match(error.message, `${file}: agents[0].cpu: expected a number between 1 and 4096`);

  const heartbeat = configErrorOf(t, () => loadConfig({ env: { COMPUTALOT_HEARTBEAT_INTERVAL_MS: '4000' } }));
  t.match(heartbeat.message, /^COMPUTALOT_HEARTBEAT_INTERVAL_MS: controller\.heartbeat_interval_ms: must be at most a third of lease_ttl_ms/);

  const replicas = configErrorOf(t, () => loadConfig({ overrides: { controller: { replicas: 2 } } }));
  t.match(replicas.message, /^command line: controller\.replicas: the embedded store serves one controller/);

  const redis = configErrorOf(t, () => loadConfig({ env: { COMPUTALOT_STORE: 'redis' } }));
  t.match(redis.message, /^COMPUTALOT_STORE: store\.kind: redis needs exactly one of/);
});

t.test('config: a bad env var is named', async (t) => {
  const error = configErrorOf(t, () => loadConfig({ env: { COMPUTALOT_HTTP_PORT: 'eighty' } }));
  t.equal(error.message, 'COMPUTALOT_HTTP_PORT: controller.http.port: expected a number between 0 and 65535');
  const level = configErrorOf(t, () => loadConfig({ env: { COMPUTALOT_LOG_LEVEL: 'loud' } }));
  t.match(level.message, /^COMPUTALOT_LOG_LEVEL: log_level: expected one of fatal, error/);
  const url = configErrorOf(t, () => loadConfig({ env: { COMPUTALOT_REDIS_URL: 'http://localhost' } }));
  t.match(url.message, /^COMPUTALOT_REDIS_URL: store\.redis_url: expected a redis:\/\//);
});

t.test('config: unreadable and malformed files fail fast', async (t) => {
  const missing = configErrorOf(t, () => loadConfig({ file: '/nonexistent/cluster.yml' }));
  t.equal(missing.message, '/nonexistent/cluster.yml: file not found');
  const badYaml = withConfigFile(t, 'store: [unclosed\n');
  t.match(configErrorOf(t, () => loadConfig({ file: badYaml })).message, `${badYaml}: invalid YAML`);
  const scalar = withConfigFile(t, 'just text\n');
  t.match(configErrorOf(t, () => loadConfig({ file: scalar })).message, 'expected a mapping');
  t.equal(loadConfig({ file: withConfigFile(t, '# only comments\n') }).shards, 64, 'an empty file means defaults');
});

t.test('config: docs/configuration.md matches the schema', async (t) => {
  const committed = readFileSync(new URL('docs/configuration.md', repoRoot), 'utf8');
  t.equal(committed, renderConfigurationDocs(), 'run `npm run gen:config-docs` after changing the schema');
  const documented = new Set(listConfigFields().map((field) => field.path));
  for (const override of ENV_OVERRIDES) t.ok(documented.has(override.path), `${override.name} maps to a real field`);
});

t.test('errors: stable codes, statuses and causes', async (t) => {
  const cause = new Error('disk full');
  const error = new ValidationError('bad payload', { details: { field: 'x' }, cause });
  t.ok(isComputalotError(error));
  t.type(error, ComputalotError);
  t.equal(error.name, 'ValidationError');
  t.equal(error.code, 'validation_failed');
  t.equal(error.httpStatus, 422);
  t.same(error.details, { field: 'x' });
  t.equal(error.cause, cause);
  t.equal(new NotFoundError('gone').httpStatus, 404);
  t.equal(new NotFoundError('gone').details, undefined);
  t.notOk(isComputalotError(new Error('plain')));
});

t.test('ids: job ids follow job_<YYYYMMDD>_<HHMMSS>_<6 alnum> in UTC', async (t) => {
  const id = newJobId(new Date(Date.UTC(2026, 2, 12, 14, 30, 0)));
  t.match(id, /^job_20260312_143000_[a-z0-9]{6}$/);
  t.ok(isJobId(id));
  t.ok(JOB_ID_PATTERN.test(newJobId()));
  t.notOk(isJobId('job_2026_143000_abc123'));
  const many = new Set(Array.from({ length: 2000 }, () => newJobId(new Date(0))));
  t.equal(many.size, 2000, 'random suffixes do not collide in a small sample');
});

t.test('ids: prefixed ids and event ids', async (t) => {
  t.match(newId('art'), /^art_[a-z0-9]{16}$/);
  t.match(newId('wch'), /^wch_[a-z0-9]{16}$/);
  t.match(newId('fb'), /^fb_[a-z0-9]{16}$/);
  t.match(newEventId(), /^evt_[a-z0-9]{16}$/);
  t.not(newEventId(), newEventId());
  t.throws(() => newId('Bad_Prefix'), TypeError);
  t.throws(() => newId(''), TypeError);
});

t.test('logger: one JSON event per line, children carry ids, secrets redacted', async (t) => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', name: 'test', destination });
  logger.child({ jobId: 'job_1', attemptId: 'att_1' }).info({ authorization: 'Bearer flk_secret' }, 'attempt started');
  logger.debug('second');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 2);
  const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  t.match(first, { level: 'info', name: 'test', jobId: 'job_1', attemptId: 'att_1', msg: 'attempt started', authorization: '[redacted]' });
  t.type(first.time, 'string');
});
