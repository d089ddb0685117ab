/**
 * Journey 1 of the reference document — register a project, push a tarball,
 * submit a structured_runner job, read status, results and output — run with
 * the reference's own curl commands (only BASE_URL and TOKEN change), first
 * against `computalot dev`, then against a Redis-backed controller with a
 * separate `computalot agent` process.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startComputalotProcess } from '../fixtures/controller-process.js';
import { startRedisServer } from '../fixtures/redis-server.js';
import { createApiKey, startTestAgent, startTestController, writeTestCluster } from '../fixtures/test-cluster.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

/** Step 4 of the journey, verbatim: Dockerfile, job.py and the minimal manifest. */
const PROJECT_FILES: Record<string, string> = {
  Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
  'job.py': [
    'import json, os',
    'payload = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))',
    'result = {"status": "ok", "source": "getting-started"}',
    'json.dump(result, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))',
    '',
  ].join('\n'),
  'computalot.project.json': JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'job.py'] } }, null, 2),
};

/** Steps 3, 5 and 6 as the reference writes them. */
const REGISTER = `curl -sS "$BASE_URL/api/v1/projects" \\
  -X POST \\
  -H "Authorization: Bearer $TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "my-ml-project",
    "remote_dir": "/root/my-ml-project",
    "env": {"CLICKHOUSE_HOST": "db.internal"},
    "setup_timeout_s": 1200
  }'`;
const PUSH = `cd my-ml-project
tar czf ../code.tar.gz .
curl -sS "$BASE_URL/api/v1/projects/my-ml-project/push" \\
  -X POST \\
  -H "Authorization: Bearer $TOKEN" \\
  --data-binary @../code.tar.gz`;
const SUBMIT = `curl -sS "$BASE_URL/api/v1/jobs" \\
  -X POST \\
  -H "Authorization: Bearer $TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "type": "structured_runner",
    "runner_command": ["python3", "job.py"],
    "payload": {"test_case": "getting-started"},
    "project": "my-ml-project",
    "timeout_s": 120,
    "requirements": {
      "cpu": 1,
      "memory_mb": 256,
      "profile": "cpu"
    },
    "reliability_mode": "strict_complete"
  }'`;

async function curl(script: string, cwd: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const { stdout } = await run('bash', ['-c', script], { cwd, env: { ...process.env, ...env } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function runJourney(t: Test, baseUrl: string, token: string) {
  const work = await mkdtemp(join(tmpdir(), 'computalot-journey-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  await mkdir(join(work, 'my-ml-project'));
  for (const [name, text] of Object.entries(PROJECT_FILES)) await writeFile(join(work, 'my-ml-project', name), text);
  const env = { BASE_URL: baseUrl, TOKEN: token };

  const project = await curl(REGISTER, work, env);
  t.equal(project.name, 'my-ml-project', 'step 3: project registered');
  const pushed = await curl(PUSH, work, env);
  t.equal(pushed.can_accept_new_jobs, true, 'step 5: revision published at once');
  t.match(pushed.content_hash, /^[0-9a-f]{64}$/);
  const status = await curl(`curl -sS "$BASE_URL/api/v1/projects/my-ml-project/status" -H "Authorization: Bearer $TOKEN"`, work, env);
  t.equal(status.content_hash, pushed.content_hash, 'status shows the new content hash');

  const job = await curl(SUBMIT, work, env);
  t.match(job.id, /^job_\d{8}_\d{6}_[a-z0-9]{6}$/, 'step 6: job id in the documented format');
  const jobEnv = { ...env, JOB_ID: String(job.id) };
  const done = await waitFor(
    'job terminal',
    async () => {
      const current = await curl(`curl -sS "$BASE_URL/api/v1/jobs/$JOB_ID" -H "Authorization: Bearer $TOKEN"`, work, jobEnv);
      return ['completed', 'partial', 'failed', 'cancelled'].includes(String(current.status)) ? current : undefined;
    },
    60_000,
    250,
  );
  t.equal(done.status, 'completed', 'step 7: the job completed');

  const results = await curl(`curl -sS "$BASE_URL/api/v1/results/$JOB_ID" -H "Authorization: Bearer $TOKEN"`, work, jobEnv);
  const tasks = results.tasks as { result: unknown; project_content_hash: string; payload: unknown }[];
  t.equal(tasks.length, 1);
  t.same(tasks[0]?.result, { status: 'ok', source: 'getting-started' }, "the runner's result comes back");
  t.same(tasks[0]?.payload, { test_case: 'getting-started' });
  t.equal(tasks[0]?.project_content_hash, pushed.content_hash, 'the task ran the pushed revision');
  t.same(results.aggregate_result, [{ status: 'ok', source: 'getting-started' }]);
  const output = await curl(`curl -sS "$BASE_URL/api/v1/jobs/$JOB_ID/output" -H "Authorization: Bearer $TOKEN"`, work, jobEnv);
  t.equal(output.status, 'completed', 'output surface answers');

  // The first job prepared the revision on demand; the node reported it.
  const details = await waitFor('node state reported', async () => {
    const current = await curl(`curl -sS "$BASE_URL/api/v1/projects/my-ml-project/status/details" -H "Authorization: Bearer $TOKEN"`, work, env);
    return current.ready_for_jobs === true ? current : undefined;
  });
  const nodes = details.nodes as { state: string; content_hash: string; current: boolean }[];
  t.equal(nodes.length, 1, 'one node prepared the revision');
  t.match(nodes[0], { state: 'ready', content_hash: pushed.content_hash, current: true });
  t.equal(details.init_state, 'ready');
}

t.test('journey 1 against computalot dev', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-dev-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const dev = await startComputalotProcess(t, ['dev', '--port', '0', '--data-dir', dataDir, '--shards', '8'], { COMPUTALOT_LOG_LEVEL: 'warn' });
  await waitFor('dev ready', () => dev.ready(), 20_000);
  const token = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
  await runJourney(t, dev.url, token);
});

t.test('journey 1 against a Redis-backed controller and a separate agent process', async (t) => {
  const redis = await startRedisServer(t);
  const cluster = await writeTestCluster(t, redis.path);
  const token = await createApiKey(cluster.config, '--account', 'journey');
  t.ok(token, 'admin keys create printed a key');
  const { controller, grpc } = await startTestController(t, cluster);
  await startTestAgent(t, cluster, grpc, 'agent');
  await waitFor('controller ready', () => controller.ready(), 20_000);
  await runJourney(t, controller.url, token);
});
