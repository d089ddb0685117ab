/**
 * Accounts are walls, against a Redis-backed controller and a real agent:
 * another account's job and project answer exactly like missing ones (so
 * ids cannot be probed), a viewer key reads but cannot submit or cancel, and
 * the owner can cancel her own running job.
 */
import t from 'tap';
import { startRedisServer } from '../fixtures/redis-server.js';
import { createApiKey, startTestAgent, startTestController, writeTestCluster } from '../fixtures/test-cluster.js';
import { gzipTar } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;
interface Answer {
  readonly status: number;
  readonly body: Json;
}

/** Well-formed, never issued. */
const MISSING_JOB = 'job_20000101_000000_zzzzzz';
const MISSING_PROJECT = 'no-such-project';

const PROJECT_FILES: Record<string, string> = {
  Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
  'computalot.project.json': JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'sleep.py'] } }, null, 2),
  'sleep.py': 'import time\ntime.sleep(120)\n',
};

const JOB = {
  type: 'structured_runner',
  project: 'alice-project',
  runner_command: ['python3', 'sleep.py'],
  payload: {},
  timeout_s: 300,
  requirements: { cpu: 1, memory_mb: 256, profile: 'cpu' },
};

/** The body with every occurrence of `ids` replaced, so two answers about different ids compare. */
function withoutIds(body: Json, ids: readonly string[]): Json {
  let text = JSON.stringify(body);
  for (const id of ids) text = text.replaceAll(id, '<id>');
  return JSON.parse(text) as Json;
}

t.test('another account sees nothing, a viewer cannot mutate, the owner can cancel', async (t) => {
  const redis = await startRedisServer(t);
  const cluster = await writeTestCluster(t, redis.path);
  const { config } = cluster;
  const alice = await createApiKey(config, '--account', 'alice');
  const bob = await createApiKey(config, '--account', 'bob');
  const viewer = await createApiKey(config, '--account', 'alice', '--role', 'viewer');

  const { controller, grpc } = await startTestController(t, cluster);
  await startTestAgent(t, cluster, grpc, 'agent');
  await waitFor('controller ready', () => controller.ready(), 20_000);

  const api = async (token: string, method: string, path: string, body?: unknown, raw?: Buffer): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${controller.url}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const expect = async (status: number, call: Promise<Answer>, what: string): Promise<Json> => {
    const answer = await call;
    if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  // Alice's project and a job that runs long enough to be cancelled while it runs.
  await expect(201, api(alice, 'POST', '/api/v1/projects', { name: 'alice-project', remote_dir: '/root/alice-project' }), 'alice registers');
  const tarball = gzipTar(Object.entries(PROJECT_FILES).map(([path, body]) => ({ path, body })));
  await expect(200, api(alice, 'POST', '/api/v1/projects/alice-project/push', undefined, tarball), 'alice pushes');
  const jobId = String((await expect(201, api(alice, 'POST', '/api/v1/jobs', JOB), 'alice submits')).id);
  const taskOf = async (): Promise<Json> => ((await expect(200, api(alice, 'GET', `/api/v1/jobs/${jobId}/tasks`), 'alice lists tasks')).tasks as Json[])[0] ?? {};
  await waitFor('alice’s task running', async () => (await taskOf()).status === 'running', 30_000, 100);

  t.test('bob: alice’s job answers exactly like a job that does not exist', async (t) => {
    const probes: [string, string, unknown?][] = [
      ['GET', '/api/v1/jobs/:id'],
      ['GET', '/api/v1/jobs/:id/tasks'],
      ['GET', '/api/v1/jobs/:id/output'],
      ['GET', '/api/v1/jobs/:id/events'],
      ['GET', '/api/v1/results/:id'],
      ['PUT', '/api/v1/jobs/:id/cancel', { reason: 'bob was here' }],
      ['GET', '/api/v1/jobs/:id/metrics'],
    ];
    for (const [method, route, body] of probes) {
      const theirs = await api(bob, method, route.replace(':id', jobId), body);
      const missing = await api(bob, method, route.replace(':id', MISSING_JOB), body);
      t.equal(theirs.status, 404, `${method} ${route} on alice's job: 404 (${JSON.stringify(theirs.body)})`);
      t.equal(theirs.status, missing.status, `${method} ${route}: same status as a missing job`);
      t.same(withoutIds(theirs.body, [jobId]), withoutIds(missing.body, [MISSING_JOB]), `${method} ${route}: same body as a missing job`);
      t.equal((theirs.body.error as Json | undefined)?.code, 'job_not_found');
    }
    const still = await expect(200, api(alice, 'GET', `/api/v1/jobs/${jobId}`), 'alice reads her job');
    t.notOk(['cancelled', 'completed', 'failed', 'partial'].includes(String(still.status)), `bob's cancel did nothing: alice's job is ${String(still.status)}`);
    const aliceList = await expect(200, api(alice, 'GET', '/api/v1/jobs'), 'alice lists her jobs');
    t.same((aliceList.jobs as Json[]).map((job) => job.id), [jobId], 'alice’s list holds her job');
    for (const path of ['/api/v1/jobs', '/api/v1/jobs?project=alice-project', '/api/v1/results', `/api/v1/results?ids=${jobId}`, `/api/v1/results?job_id=${jobId}`, '/api/v1/results?user_id=alice']) {
      const listed = await expect(200, api(bob, 'GET', path), `bob lists ${path}`);
      t.same(listed.jobs ?? listed.results, [], `bob's ${path} is empty`);
    }
    const batch = await api(bob, 'POST', '/api/v1/jobs/batch', { jobs: [{ ...JOB, depends_on: [jobId] }] });
    t.equal(batch.status, 422, 'bob cannot depend on alice’s job');
    t.equal((batch.body.errors as Json[])[0]?.error, 'dependency_not_found', 'it reads like a job that does not exist');
  });

  t.test('bob: alice’s project answers exactly like a project that does not exist', async (t) => {
    const list = await expect(200, api(bob, 'GET', '/api/v1/projects'), 'bob lists projects');
    t.same(list.projects, [], 'bob has no projects');
    const probes: [string, string, unknown?, Buffer?][] = [
      ['GET', '/api/v1/projects/:name'],
      ['GET', '/api/v1/projects/:name/status'],
      ['PUT', '/api/v1/projects/:name', { env: { STOLEN: '1' } }],
      ['POST', '/api/v1/projects/:name/push', undefined, tarball],
      ['DELETE', '/api/v1/projects/:name'],
      ['PUT', '/api/v1/projects/:name/cancel-queued', {}],
    ];
    for (const [method, route, body, raw] of probes) {
      const theirs = await api(bob, method, route.replace(':name', 'alice-project'), body, raw);
      const missing = await api(bob, method, route.replace(':name', MISSING_PROJECT), body, raw);
      t.equal(theirs.status, 404, `${method} ${route} on alice's project: 404 (${JSON.stringify(theirs.body)})`);
      t.equal(theirs.status, missing.status, `${method} ${route}: same status as a missing project`);
      t.same(withoutIds(theirs.body, ['alice-project']), withoutIds(missing.body, [MISSING_PROJECT]), `${method} ${route}: same body as a missing project`);
    }
    const submitted = await api(bob, 'POST', '/api/v1/jobs', JOB);
    const missing = await api(bob, 'POST', '/api/v1/jobs', { ...JOB, project: MISSING_PROJECT });
    t.equal(submitted.status, 404, `bob cannot run alice's project (${JSON.stringify(submitted.body)})`);
    t.same(withoutIds(submitted.body, ['alice-project']), withoutIds(missing.body, [MISSING_PROJECT]), 'submitting to it answers like a missing project');
    const hers = await expect(200, api(alice, 'GET', '/api/v1/projects/alice-project'), 'alice reads her project');
    t.notOk(JSON.stringify(hers).includes('STOLEN'), 'alice’s project is untouched');
  });

  t.test('alice’s viewer key reads but cannot submit or cancel', async (t) => {
    const job = await api(viewer, 'GET', `/api/v1/jobs/${jobId}`);
    t.equal(job.status, 200, 'the viewer reads the job');
    t.equal(job.body.id, jobId);
    t.equal((await api(viewer, 'GET', `/api/v1/jobs/${jobId}/tasks`)).status, 200, 'and its tasks');
    t.equal((await api(viewer, 'GET', '/api/v1/projects/alice-project')).status, 200, 'and the project');
    const submit = await api(viewer, 'POST', '/api/v1/jobs', JOB);
    t.equal(submit.status, 403, `viewer submit: 403 (${JSON.stringify(submit.body)})`);
    t.equal((submit.body.error as Json | undefined)?.code, 'forbidden');
    const cancel = await api(viewer, 'PUT', `/api/v1/jobs/${jobId}/cancel`, { reason: 'viewer' });
    t.equal(cancel.status, 403, `viewer cancel: 403 (${JSON.stringify(cancel.body)})`);
    t.equal((cancel.body.error as Json | undefined)?.code, 'forbidden');
    const still = await expect(200, api(alice, 'GET', `/api/v1/jobs/${jobId}`), 'alice reads her job');
    t.notOk(['cancelled', 'completed', 'failed', 'partial'].includes(String(still.status)), `the viewer's cancel did nothing: ${String(still.status)}`);
  });

  t.test('alice cancels her own running job', async (t) => {
    const cancelled = await api(alice, 'PUT', `/api/v1/jobs/${jobId}/cancel`, { reason: 'changed my mind' });
    t.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    t.equal(cancelled.body.status, 'cancelled', 'the answer shows the job cancelled');
    const task = await waitFor(
      'alice’s task cancelled',
      async () => {
        const current = await taskOf();
        return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(String(current.status)) ? current : undefined;
      },
      15_000,
      100,
    );
    t.equal(task.status, 'cancelled', `the task ended cancelled: ${JSON.stringify(task)}`);
    t.equal((await expect(200, api(alice, 'GET', `/api/v1/jobs/${jobId}`), 'alice reads her job')).status, 'cancelled', 'the job stays cancelled');
  });
});
