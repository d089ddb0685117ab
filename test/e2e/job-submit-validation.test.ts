/**
 * Bad submissions get a clear 4xx with a machine-readable code, and nothing
 * is created: against a real `computalot dev` process.
 */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComputalotProcess } from '../fixtures/controller-process.js';
import { packDirectory, JOURNEY_PROJECT } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

t.test('job submission is validated before anything is created', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-submit-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const dev = await startComputalotProcess(t, ['dev', '--port', '0', '--data-dir', dataDir, '--shards', '4'], { COMPUTALOT_LOG_LEVEL: 'warn' });
  await waitFor('dev ready', () => dev.ready(), 20_000);
  const token = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
  const api = async (method: string, path: string, body?: unknown, raw?: Buffer) => {
    const response = await fetch(`${dev.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(raw ? {} : body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string; details?: unknown } } & Record<string, unknown> };
  };

  await api('POST', '/api/v1/projects', { name: 'p', remote_dir: '/root/p' });
  const noCode = await api('POST', '/api/v1/jobs', { project: 'p', runner_command: ['python3', 'job.py'] });
  t.equal(noCode.status, 409, 'a project without pushed code cannot run jobs yet');
  t.equal(noCode.body.error?.code, 'project_has_no_revision');

  const projectDir = await mkdtemp(join(tmpdir(), 'computalot-submit-project-'));
  t.teardown(() => rm(projectDir, { recursive: true, force: true }));
  const pushed = await api('POST', '/api/v1/projects/p/push', undefined, packDirectory(projectDir, JOURNEY_PROJECT));
  t.equal(pushed.status, 200, 'push accepted');

  const cases: { name: string; body: unknown; status: number; code: string }[] = [
    { name: 'shell runner', body: { project: 'p', runner_command: ['bash', '-c', 'echo hi'] }, status: 422, code: 'validation_failed' },
    { name: 'sh runner', body: { project: 'p', runner_command: ['sh', 'x.sh'] }, status: 422, code: 'validation_failed' },
    { name: 'unknown executable', body: { project: 'p', runner_command: ['perl', 'x.pl'] }, status: 422, code: 'validation_failed' },
    { name: 'misspelt field', body: { project: 'p', runner_command: ['python3', 'job.py'], timeout: 5 }, status: 422, code: 'validation_failed' },
    { name: 'wrong type', body: { project: 'p', runner_command: ['python3', 'job.py'], timeout_s: 'soon' }, status: 422, code: 'validation_failed' },
    { name: 'sealed with a project', body: { project: 'p', runner_command: ['python3', 'job.py'], execution_policy: 'sealed' }, status: 422, code: 'validation_failed' },
    { name: 'no project', body: { runner_command: ['python3', 'job.py'] }, status: 422, code: 'validation_failed' },
    { name: 'missing project', body: { project: 'nope', runner_command: ['python3', 'job.py'] }, status: 404, code: 'project_not_found' },
    { name: 'sweep over 1000 combinations', body: { type: 'sweep', project: 'p', runner_command: ['python3', 'job.py'], parameters: { a: Array.from({ length: 11 }, (_, i) => i), b: Array.from({ length: 100 }, (_, i) => i) }, rank_by: 'x' }, status: 422, code: 'validation_failed' },
    { name: 'mixed fan-out shapes', body: { project: 'p', runner_command: ['python3', 'job.py'], payload: { m: [1, 2] }, fan_out: { by: 'm', items: [{}] } }, status: 422, code: 'validation_failed' },
    { name: 'guaranteed reservation', body: { project: 'p', runner_command: ['python3', 'job.py'], reservation: { mode: 'guaranteed', parallelism: 2 } }, status: 422, code: 'unsupported_feature' },
  ];
  for (const c of cases) {
    const answer = await api('POST', '/api/v1/jobs', c.body);
    t.equal(answer.status, c.status, `${c.name}: status ${c.status}`);
    t.equal(answer.body.error?.code, c.code, `${c.name}: code ${c.code}`);
    t.ok(answer.body.error?.message, `${c.name}: a human message`);
  }

  const ok = await api('POST', '/api/v1/jobs', { project: 'p', payload: { x: 1 } });
  t.equal(ok.status, 201, "without runner_command the manifest's entrypoint runs");
  t.same(ok.body.runner_command, ['python', 'job.py']);

  const presets = await api('GET', '/api/v1/presets');
  t.equal(presets.status, 200);
  t.ok(Array.isArray(presets.body.presets) && (presets.body.presets as unknown[]).length > 0, 'presets listed');

  const missing = await api('GET', '/api/v1/jobs/job_20260101_000000_zzzzzz');
  t.equal(missing.status, 404);
  t.equal(missing.body.error?.code, 'job_not_found');
});
