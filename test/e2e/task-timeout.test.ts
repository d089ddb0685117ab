/**
 * A task that outlives its `timeout_s` against a real `computalot dev`: the
 * attempt ends `timed_out` (failure_kind `timeout`), the job `failed`, the
 * output printed before the kill is kept, and the whole process tree — the
 * runner and the child it spawned — is gone afterwards.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComputalotProcess } from '../fixtures/controller-process.js';
import { gzipTar } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

const TERMINAL_JOB = ['completed', 'partial', 'failed', 'cancelled'];
/** Unique per run, so a leftover process of another run cannot be mistaken for ours. */
const MARKER = `marker-${randomBytes(6).toString('hex')}`;

const PROJECT_FILES: Record<string, string> = {
  Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
  'computalot.project.json': JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'sleeper.py'] } }, null, 2),
  'sleeper.py': [
    'import subprocess, time',
    `child = subprocess.Popen(["python3", "-c", "import time; time.sleep(600) # ${MARKER}"])`,
    'print(f"CHILD_PID={child.pid}", flush=True)',
    'time.sleep(600)',
    '',
  ].join('\n'),
};

/** Host pids whose command line contains `needle` (this test process excluded). */
async function hostProcessesWith(needle: string): Promise<{ pid: number; cmdline: string }[]> {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push({ pid: Number(entry), cmdline: cmdline.replaceAll('\0', ' ') });
  }
  return found;
}

t.test('a task past timeout_s is timed_out, its job failed, and its process tree killed', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-timeout-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const dev = await startComputalotProcess(t, ['dev', '--port', '0', '--data-dir', dataDir, '--shards', '8'], { COMPUTALOT_LOG_LEVEL: 'warn' });
  await waitFor('dev ready', () => dev.ready(), 20_000);
  const token = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();

  const api = async (method: string, path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: Json }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${dev.url}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    return { status: response.status, body: (await response.json()) as Json };
  };

  // Setup steps throw on failure: nothing after them means anything without them.
  const expect = async (status: number, call: Promise<{ status: number; body: Json }>, what: string): Promise<Json> => {
    const answer = await call;
    if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  await expect(201, api('POST', '/api/v1/projects', { name: 'sleeper', remote_dir: '/root/sleeper' }), 'register project');
  const tarball = gzipTar(Object.entries(PROJECT_FILES).map(([path, body]) => ({ path, body })));
  const pushed = await expect(200, api('POST', '/api/v1/projects/sleeper/push', undefined, tarball), 'push project');
  t.equal(pushed.can_accept_new_jobs, true, 'the pushed revision accepts jobs at once');

  const submitted = await expect(201, api('POST', '/api/v1/jobs', {
    type: 'structured_runner',
    project: 'sleeper',
    runner_command: ['python3', 'sleeper.py'],
    payload: {},
    // Long enough for a loaded CI machine to start python and print CHILD_PID before the kill.
    timeout_s: 5,
    max_retries: 0,
    requirements: { cpu: 1, memory_mb: 256, profile: 'cpu' },
  }), 'submit job');
  const jobId = String(submitted.id);
  const started = Date.now();

  // While waiting, note whether the child ever showed up as a host process
  // (process/bwrap/nsjail sandboxes) or not (gVisor: its pids live in the sandbox).
  let seenOnHost = false;
  const job = await waitFor(
    'job terminal',
    async () => {
      if (!seenOnHost && (await hostProcessesWith(MARKER)).length > 0) seenOnHost = true;
      const current = await api('GET', `/api/v1/jobs/${jobId}`);
      return TERMINAL_JOB.includes(String(current.body.status)) ? current.body : undefined;
    },
    30_000,
    100,
  );
  const elapsedMs = Date.now() - started;
  const { body: taskPage } = await api('GET', `/api/v1/jobs/${jobId}/tasks`);
  const tasks = taskPage.tasks as Json[];
  const task = tasks[0] ?? {};
  const dump = JSON.stringify(task, null, 2);
  t.equal(job.status, 'failed', `the job failed (task: ${dump})`);
  t.ok(elapsedMs < 30_000, `it ended within 30 s of submit (${elapsedMs} ms)`);
  t.equal(tasks.length, 1);
  t.equal(task.status, 'timed_out', `the task timed out: ${dump}`);
  t.equal(task.failure_kind, 'timeout', 'failure_kind is timeout');
  const attempts = (task.attempts ?? []) as Json[];
  t.equal(attempts.length, 1, `max_retries 0: one attempt only: ${dump}`);
  t.equal(attempts[0]?.outcome, 'timed_out', 'the attempt ended timed_out');
  t.equal(attempts[0]?.failure_kind, 'timeout', 'the attempt records the timeout');

  // The output printed before the kill survives, on /tasks and /output.
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const tail = text((task.live_feedback as Json | undefined)?.output_tail);
  const { body: output } = await api('GET', `/api/v1/jobs/${jobId}/output`);
  const printed = /CHILD_PID=(\d+)/.exec(tail) ?? /CHILD_PID=(\d+)/.exec(text(output.output));
  t.ok(printed, `the output keeps CHILD_PID (tail: ${JSON.stringify(tail)}, output: ${JSON.stringify(output.output)})`);

  // Nothing of the attempt is left on the host: the child's pid (if it was a
  // host pid) runs no sleep, and no process carries the marker.
  const childPid = Number(printed?.[1] ?? 0);
  const leftovers = await waitFor(
    'the process tree to be gone',
    async () => {
      const left = await hostProcessesWith(MARKER);
      return left.length === 0 ? left : undefined;
    },
    5_000,
    100,
  ).catch(async () => hostProcessesWith(MARKER));
  t.same(leftovers, [], `no host process carries ${MARKER}`);
  if (childPid > 0) {
    const cmdline = await readFile(`/proc/${childPid}/cmdline`, 'utf8').catch(() => '');
    t.notOk(cmdline.includes('time.sleep(600)'), `pid ${childPid} is not a live sleeping child (cmdline: ${JSON.stringify(cmdline)})`);
  }
  t.comment(`child ${seenOnHost ? 'ran as a host process' : 'never appeared on the host (sandbox pid namespace, e.g. gVisor)'}; timed out in ${elapsedMs} ms`);
});
