/**
 * An agent dies (SIGKILL) while it runs a task, against a Redis-backed
 * controller and real agent processes: the controller declares the worker
 * lost once its heartbeats stop, the task is retried on the surviving agent,
 * and the job completes with exactly one result.
 */
import t from 'tap';
import { startRedisServer } from '../fixtures/redis-server.js';
import { createApiKey, startTestAgent, startTestController, writeTestCluster } from '../fixtures/test-cluster.js';
import { gzipTar } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

const TERMINAL_JOB = ['completed', 'partial', 'failed', 'cancelled'];

const PROJECT_FILES: Record<string, string> = {
  Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
  'computalot.project.json': JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'slow.py'] } }, null, 2),
  'slow.py': [
    'import json, os, time',
    'time.sleep(4)',
    'json.dump({"done": True, "pid": os.getpid()}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))',
    '',
  ].join('\n'),
};

t.test('a task on an agent killed mid-run is retried on another agent and completes once', async (t) => {
  const redis = await startRedisServer(t);
  const cluster = await writeTestCluster(t, redis.path, ['  heartbeat_interval_ms: 500', '  lease_ttl_ms: 3000']);
  const token = await createApiKey(cluster.config, '--account', 'loss');

  const { controller, grpc } = await startTestController(t, cluster);
  const startAgent = (name: string) => startTestAgent(t, cluster, grpc, name);
  const agentA = await startAgent('a');
  await waitFor('controller ready', () => controller.ready(), 20_000);

  const api = async (method: string, path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: Json }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${controller.url}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const expect = async (status: number, call: Promise<{ status: number; body: Json }>, what: string): Promise<Json> => {
    const answer = await call;
    if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  await expect(201, api('POST', '/api/v1/projects', { name: 'slow', remote_dir: '/root/slow' }), 'register project');
  const tarball = gzipTar(Object.entries(PROJECT_FILES).map(([path, body]) => ({ path, body })));
  await expect(200, api('POST', '/api/v1/projects/slow/push', undefined, tarball), 'push project');
  const submitted = await expect(
    201,
    api('POST', '/api/v1/jobs', {
      type: 'structured_runner',
      project: 'slow',
      runner_command: ['python3', 'slow.py'],
      payload: {},
      timeout_s: 60,
      max_retries: 2,
      requirements: { cpu: 1, memory_mb: 256, profile: 'cpu' },
    }),
    'submit job',
  );
  const jobId = String(submitted.id);
  const firstTask = async (): Promise<Json> => ((await expect(200, api('GET', `/api/v1/jobs/${jobId}/tasks`), 'list tasks')).tasks as Json[])[0] ?? {};

  await waitFor('the task running on agent A', async () => (await firstTask()).status === 'running', 30_000, 100);
  // Kill first: the task sleeps only a few seconds, and starting a second agent
  // under load can take longer than that. Loss detection (missed heartbeats)
  // gives agent B the time it needs to register.
  await agentA.kill9();
  await startAgent('b');
  const killedAt = Date.now();

  const job = await waitFor(
    'job terminal',
    async () => {
      const current = await expect(200, api('GET', `/api/v1/jobs/${jobId}`), 'get job');
      return TERMINAL_JOB.includes(String(current.status)) ? current : undefined;
    },
    60_000,
    200,
  );
  t.comment(`job ${String(job.status)} ${Date.now() - killedAt} ms after agent A was killed`);
  const task = await firstTask();
  const dump = JSON.stringify(task.attempts ?? task, null, 2);
  t.equal(job.status, 'completed', `the job completed on the surviving agent; attempts: ${dump}`);
  t.equal(task.status, 'succeeded', 'the task succeeded');
  const attempts = (task.attempts ?? []) as Json[];
  t.equal(attempts.length, 2, `two attempts: the lost one and the retry; attempts: ${dump}`);
  t.equal(attempts[0]?.outcome, 'worker_lost', `the first attempt ended with the worker's loss; attempts: ${dump}`);
  t.equal(attempts[0]?.failure_kind, 'worker_lost', 'its failure_kind names the loss');
  t.equal(attempts[1]?.outcome, 'succeeded', 'the second attempt succeeded');
  t.not(attempts[0]?.attempt_id, attempts[1]?.attempt_id, 'the retry is a new attempt');

  const results = await expect(200, api('GET', `/api/v1/results/${jobId}`), 'get results');
  const resultTasks = results.tasks as Json[];
  t.equal(resultTasks.length, 1, 'exactly one task result');
  t.match(resultTasks[0]?.result, { done: true, pid: Number }, 'the result is the retry’s');
  t.equal(resultTasks[0]?.attempts, 2);
  t.same(results.aggregate_result, [resultTasks[0]?.result], 'the aggregate holds the one result');
});
