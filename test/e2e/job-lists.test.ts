/**
 * Listing and bulk surfaces against `computalot dev` with its real agent:
 * `GET /api/v1/jobs` with every filter and pagination, `GET /api/v1/results`
 * with its filters, `POST /api/v1/jobs/batch` (201 / 207 / 422),
 * `GET /api/v1/jobs/:id/metrics`, and `PUT /api/v1/projects/:name/cancel-queued`.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevPlatform, type Json } from '../helpers/job-api.js';
import { packDirectory } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

const RUNNER = `
import json, os
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
print("value", p.get("x"))
json.dump({"x2": p.get("x", 0) * 2}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;
const TERMINAL = ['completed', 'partial', 'failed', 'cancelled'];

t.test('job and result lists, batch submit, metrics and cancel-queued', async (t) => {
  const { api } = await startDevPlatform(t, 'lists');
  const projectDir = await mkdtemp(join(tmpdir(), 'computalot-lists-project-'));
  t.teardown(() => rm(projectDir, { recursive: true, force: true }));
  const manifest = JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'run.py'] } });
  const files = { Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n', 'computalot.project.json': manifest, 'run.py': RUNNER };
  for (const name of ['alpha', 'beta']) {
    t.equal((await api('POST', '/api/v1/projects', { name, remote_dir: `/root/${name}` })).status, 201);
    t.equal((await api('POST', `/api/v1/projects/${name}/push`, undefined, packDirectory(projectDir, files))).status, 200);
  }
  const job = (project: string, x: number, extra: Json = {}) => ({ project, runner_command: ['python', 'run.py'], payload: { x }, ...extra });
  const statusOf = async (id: string) => String((await api('GET', `/api/v1/jobs/${id}`)).body.status);
  const untilTerminal = (id: string) => waitFor(`job ${id} terminal`, async () => TERMINAL.includes(await statusOf(id)), 90_000, 100);

  // ── batch: 201 when all are accepted ─────────────────────────────────────
  const batch = await api('POST', '/api/v1/jobs/batch', {
    jobs: [job('alpha', 1, { tags: ['sweep_72', 'even'], client_ref: 'ref-1' }), job('alpha', 2, { tags: ['sweep_72'] }), job('beta', 3, { tags: ['odd'] })],
  });
  t.equal(batch.status, 201, JSON.stringify(batch.body).slice(0, 300));
  t.equal(batch.body.submitted, 3);
  t.equal(batch.body.error_count, 0);
  t.same(batch.body.errors, []);
  const batchJobs = batch.body.jobs as Json[];
  t.same(batchJobs.map((j) => j.index), [0, 1, 2], 'each accepted job says which body it was');
  const [first, second, third] = batchJobs.map((j) => String(j.id));
  t.ok(first && second && third && new Set([first, second, third]).size === 3, 'three distinct ids');
  t.same(batchJobs.map((j) => j.project), ['alpha', 'alpha', 'beta']);
  for (const id of [first, second, third]) await untilTerminal(String(id));

  // ── batch: 207 partial, 422 none, and the size limit ─────────────────────
  const partial = await api('POST', '/api/v1/jobs/batch', { jobs: [job('alpha', 4, { tags: ['late'] }), { project: 'alpha', bogus: 1 }, job('no-such-project', 5), job('alpha', 6, { depends_on: ['job_20000101_000000_zzzzzz'] })] });
  t.equal(partial.status, 207, JSON.stringify(partial.body).slice(0, 300));
  t.equal(partial.body.submitted, 1);
  t.equal(partial.body.error_count, 3);
  t.same(
    (partial.body.errors as Json[]).map((e) => [e.index, e.status, e.error]),
    [
      [1, 422, 'validation_failed'],
      [2, 404, 'project_not_found'],
      [3, 422, 'dependency_not_found'],
    ],
    'each rejected body: its index, the status it alone would get, and a machine-readable code',
  );
  const late = String((partial.body.jobs as Json[])[0]?.id);
  await untilTerminal(late);
  const none = await api('POST', '/api/v1/jobs/batch', { jobs: [{ nope: true }] });
  t.equal(none.status, 422);
  t.equal(none.body.error, 'batch_rejected');
  t.equal(none.body.submitted, 0);
  const tooMany = await api('POST', '/api/v1/jobs/batch', { jobs: Array.from({ length: 201 }, (_, i) => job('alpha', i)) });
  t.equal(tooMany.status, 422, 'more than 200 jobs is refused whole');
  t.equal((await api('POST', '/api/v1/jobs/batch', { jobs: [] })).status, 422, 'so is an empty batch');

  // ── GET /api/v1/jobs ─────────────────────────────────────────────────────
  const ids = (body: Json, key = 'jobs') => (body[key] as Json[]).map((j) => j.id ?? j.job_id);
  const all = (await api('GET', '/api/v1/jobs')).body;
  t.same(ids(all), [late, third, second, first], 'newest first');
  t.equal(all.total, 4);
  t.equal(all.has_more, false);
  t.equal(all.limit, 50, 'default limit');
  t.same(ids((await api('GET', '/api/v1/jobs?project=alpha')).body), [late, second, first], 'by project');
  t.same(ids((await api('GET', '/api/v1/jobs?tag=sweep_72')).body), [second, first], 'by tag');
  t.same(ids((await api('GET', '/api/v1/jobs?tag=sweep_72&project=beta')).body), [], 'tag and project together');
  t.same(ids((await api('GET', '/api/v1/jobs?client_ref=ref-1')).body), [first], 'by client_ref');
  t.same(ids((await api('GET', '/api/v1/jobs?status=completed&project=beta')).body), [third], 'by status');
  t.same(ids((await api('GET', '/api/v1/jobs?status=running,queued')).body), [], 'several statuses, none matching');
  const page = (await api('GET', '/api/v1/jobs?limit=2&offset=1')).body;
  t.same(ids(page), [third, second], 'limit and offset');
  t.equal(page.has_more, true);
  t.same(ids((await api('GET', '/api/v1/jobs?limit=2&offset=3')).body), [first]);
  for (const bad of ['limit=abc', 'limit=0', 'limit=501', 'offset=-1', 'limit=1.5', 'offset=x', 'status=bogus']) {
    const answer = await api('GET', `/api/v1/jobs?${bad}`);
    t.equal(answer.status, 422, `${bad} → 422`);
    t.equal((answer.body.error as Json | undefined)?.code, 'validation_failed');
  }

  // ── GET /api/v1/results ──────────────────────────────────────────────────
  const results = (await api('GET', '/api/v1/results')).body;
  t.same(ids(results, 'results'), [late, third, second, first], 'terminal jobs, newest first');
  t.equal(results.limit, 20, 'default limit 20');
  const one = (results.results as Json[])[3] as Json;
  t.equal(one.status, 'completed');
  t.equal(one.client_ref, 'ref-1');
  t.same(one.tags, ['sweep_72', 'even']);
  t.same(one.completeness, { total_tasks: 1, succeeded_tasks: 1, missing_tasks: 0, ratio: 1 });
  t.equal(one.result_persisted, true);
  t.notOk('tasks' in one, 'tasks only on request');
  const withTasks = (await api('GET', `/api/v1/results?job_id=${first}&include_tasks=true`)).body;
  t.same(((withTasks.results as Json[])[0]?.tasks as Json[]).map((task) => task.result), [{ x2: 2 }], 'include_tasks carries each result');
  t.same(ids((await api('GET', `/api/v1/results?ids=${third},${first},job_20000101_000000_zzzzzz`)).body, 'results'), [third, first], 'ids: unknown ones are left out');
  t.same(ids((await api('GET', '/api/v1/results?tag=odd')).body, 'results'), [third]);
  t.same(ids((await api('GET', '/api/v1/results?project=alpha&limit=1&offset=1')).body, 'results'), [second]);
  t.same(ids((await api('GET', '/api/v1/results?client_ref=ref-1')).body, 'results'), [first]);
  t.same(ids((await api('GET', '/api/v1/results?user_id=someone-else')).body, 'results'), [], 'another user_id lists nothing');
  const grouped = (await api('GET', '/api/v1/results?group_by=project')).body;
  t.same(grouped.groups, [
    { key: 'alpha', count: 3, job_ids: [late, second, first] },
    { key: 'beta', count: 1, job_ids: [third] },
  ]);
  for (const bad of ['limit=abc', 'offset=-5', 'limit=0', 'limit=201', 'group_by=color', 'include_tasks=maybe']) {
    t.equal((await api('GET', `/api/v1/results?${bad}`)).status, 422, `results ${bad} → 422`);
  }

  // ── metrics ──────────────────────────────────────────────────────────────
  const metrics = (await api('GET', `/api/v1/jobs/${first}/metrics`)).body;
  t.equal(metrics.job_id, first);
  t.same(metrics.tasks, { total: 1, by_status: { succeeded: 1 } });
  t.match(metrics.attempts, { total: 1, retried_tasks: 0, retries: 0, by_outcome: { succeeded: 1 } });
  t.equal((metrics.runtime_s as Json).count, 1);
  t.ok(Number((metrics.runtime_s as Json).total) > 0, 'runtime measured');
  t.equal(metrics.progress, 1);
  t.equal((metrics.quality as Json).scored, 1);
  t.ok(Number(metrics.wall_clock_s) > 0);
  t.equal((await api('GET', '/api/v1/jobs/job_20000101_000000_zzzzzz/metrics')).status, 404);

  // ── cancel-queued: only not-started jobs of that project (and tag) ───────
  // No agent has 512 CPUs, so these stay queued.
  const huge = { requirements: { cpu: 512 } };
  const queued = await api('POST', '/api/v1/jobs/batch', {
    jobs: [job('alpha', 7, { ...huge, tags: ['drop'] }), job('alpha', 8, { ...huge, tags: ['keep'] }), job('beta', 9, { ...huge, tags: ['drop'] })],
  });
  t.equal(queued.status, 201);
  const [dropAlpha, keepAlpha, dropBeta] = (queued.body.jobs as Json[]).map((j) => String(j.id));
  await waitFor('all three queued', async () => (await Promise.all([dropAlpha, keepAlpha, dropBeta].map((id) => statusOf(String(id))))).every((s) => s === 'queued'), 20_000, 100);
  const tagged = await api('PUT', '/api/v1/projects/alpha/cancel-queued?tag=drop', {});
  t.equal(tagged.status, 200, JSON.stringify(tagged.body));
  t.same(tagged.body, { project: 'alpha', tag: 'drop', cancelled: 1, job_ids: [dropAlpha] });
  await waitFor('tagged alpha job cancelled', async () => (await statusOf(String(dropAlpha))) === 'cancelled', 10_000, 100);
  t.equal(await statusOf(String(keepAlpha)), 'queued', 'another tag is left alone');
  t.equal(await statusOf(String(dropBeta)), 'queued', 'another project is left alone');
  const rest = await api('PUT', '/api/v1/projects/alpha/cancel-queued', {});
  t.same(rest.body.job_ids, [keepAlpha], 'without a tag: every queued job of the project, finished ones untouched');
  await waitFor('alpha queue empty', async () => (await statusOf(String(keepAlpha))) === 'cancelled', 10_000, 100);
  t.equal(await statusOf(first as string), 'completed', 'a completed job stays completed');
  t.equal((await api('PUT', '/api/v1/projects/no-such-project/cancel-queued', {})).status, 404, 'unknown project → 404');
  await api('PUT', `/api/v1/jobs/${dropBeta}/cancel`, {});
});
