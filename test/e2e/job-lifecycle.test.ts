/**
 * The job lifecycle on a Redis-backed controller and one real agent
 * (bubblewrap sandbox, 4 CPU slots): priority decides which queued job starts
 * first, cancelling a running job kills its task's processes, a DAG of
 * `depends_on` jobs runs in order and a failed dependency cancels its
 * dependents (also ones submitted after it failed), `max_retries` retries with
 * growing backoff and keeps every attempt's error, `reliability_mode` and a
 * custom `result_schema` decide completed / partial / failed, and a
 * 1,000-task fan-out finishes with each item run exactly once.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import {
  TERMINAL_JOB_STATUSES,
  createProject,
  expectStatus,
  listTasks,
  pythonProjectFiles,
  startClusterPlatform,
  submitJob,
  waitForJob,
  type Api,
  type Json,
} from '../helpers/job-api.js';
import { waitFor } from '../helpers/wait.js';

/** Unique per run, so another run's leftover process is never taken for ours. */
const MARKER = `lifecycle-${randomBytes(6).toString('hex')}`;
/** The 1,000-task fan-out of the "Must show" list; FANOUT_TASKS overrides it for local experiments only. */
const FANOUT_TASKS = Number(process.env.COMPUTALOT_E2E_FANOUT_TASKS ?? 1000);
/** Every task asks for the agent's 4 CPU slots in the priority test, so one runs at a time. */
const WHOLE_AGENT = { cpu: 4, memory_mb: 256, profile: 'cpu' };

/**
 * One runner for every job here, driven by its payload. `COMPUTALOT_TASK_ATTEMPT`
 * (1-based) lets it fail on chosen attempts: the payload is the same every time.
 */
const WORK = `
import json, os, sys, time
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
attempt = int(os.environ["COMPUTALOT_TASK_ATTEMPT"])
if attempt in p.get("fail_attempts", []):
    print(f"attempt {attempt} fails on purpose", file=sys.stderr)
    sys.exit(1)
if p.get("fail") is True or p.get("n") in p.get("fail_items", []):
    print(f"item {p.get('n')} fails on purpose", file=sys.stderr)
    sys.exit(2)
time.sleep(p.get("sleep", 0))
result = p.get("result", {"n": p.get("n"), "attempt": attempt})
json.dump(result, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

/** The blocker: its argv carries the marker, so its processes can be found on the host. */
const BLOCK = `
import time
print("blocking", flush=True)
time.sleep(600)
`;

/** The fan-out runner: as little work as a task can do (no site import, one JSON round trip). */
const ECHO = `
import json, os
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
json.dump({"item": p["item"], "task": os.environ["COMPUTALOT_TASK_ID"]}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

const time = (value: unknown): number => Date.parse(String(value));
const attemptsOf = (task: Json): Json[] => (task.attempts ?? []) as Json[];

/** Host pids whose command line contains `needle` (this process excluded). */
async function hostProcessesWith(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push(`${entry}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

async function taskOf(api: Api, jobId: string, index = 0): Promise<Json> {
  return (await listTasks(api, jobId))[index] ?? {};
}

// 1,000 sandboxed launches take 2–4 minutes on 2 busy cores, near .taprc's per-file 240 s: this file gets 10.
t.setTimeout(600_000);

t.test('job lifecycle on a real agent', async (t) => {
  const { api, sandbox } = await startClusterPlatform(t, { cpu: 4, account: 'lifecycle' });
  // Under bwrap the task's processes are host processes (gVisor keeps them in its own kernel).
  const processesVisible = sandbox === 'bwrap';
  await createProject(api, 'lifecycle', pythonProjectFiles('work.py', { 'work.py': WORK, 'block.py': BLOCK, 'echo.py': ECHO }));
  const job = (payload: Json, extra: Json = {}): Json => ({
    type: 'structured_runner',
    project: 'lifecycle',
    runner_command: ['python3', '-S', 'work.py'],
    payload,
    timeout_s: 120,
    requirements: { cpu: 1, memory_mb: 256, profile: 'cpu' },
    ...extra,
  });

  t.test('priority: with the agent busy, a high job queued after a low one starts first; cancel kills the running task', async (t) => {
    const blocker = await submitJob(api, {
      type: 'structured_runner',
      project: 'lifecycle',
      runner_command: ['python3', '-S', 'block.py', MARKER],
      payload: {},
      timeout_s: 600,
      requirements: WHOLE_AGENT,
    });
    // If an assertion below throws, the blocker must not hold the agent for the rest of the file.
    t.teardown(async () => void (await api('PUT', `/api/v1/jobs/${blocker}/cancel`, { reason: 'test teardown' }).catch(() => undefined)));
    await waitFor('the blocker running', async () => (await taskOf(api, blocker)).status === 'running', 60_000, 100);
    if (processesVisible) {
      // Also proves the agent ran it in the bwrap it was told to use: under gVisor no host process carries the marker.
      await waitFor('the blocker’s processes on the host (bwrap, as the agent was told)', async () => (await hostProcessesWith(MARKER)).length > 0, 15_000, 100);
    }

    // Cancelled while queued: it must leave the ready queue, never to run.
    const dropped = await submitJob(api, job({ n: 'dropped' }, { requirements: WHOLE_AGENT }));
    await waitFor('the dropped job queued', async () => (await taskOf(api, dropped)).pending_reason === 'queued', 15_000, 100);
    const droppedView = await expectStatus(200, api('PUT', `/api/v1/jobs/${dropped}/cancel`, { reason: 'not needed' }), 'cancel the queued job');
    t.equal(droppedView.status, 'cancelled', 'a queued job cancels at once');
    const low = await submitJob(api, job({ n: 'low' }, { priority: 'low', requirements: WHOLE_AGENT }));
    const high = await submitJob(api, job({ n: 'high' }, { priority: 'high', requirements: WHOLE_AGENT }));
    for (const id of [low, high]) {
      await waitFor(`job ${id} queued with its task ready`, async () => (await taskOf(api, id)).pending_reason === 'queued', 15_000, 100);
    }
    t.equal((await taskOf(api, blocker)).status, 'running', 'both were queued while the blocker held the whole agent');

    const cancelled = await expectStatus(200, api('PUT', `/api/v1/jobs/${blocker}/cancel`, { reason: 'make room' }), 'cancel the blocker');
    t.equal(cancelled.status, 'cancelled', 'the cancel answer shows the job cancelled');
    t.equal(cancelled.cancel_reason, 'make room');
    const blockerTask = await waitFor(
      'the blocker task ended',
      async () => {
        const task = await taskOf(api, blocker);
        return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(String(task.status)) ? task : undefined;
      },
      30_000,
      100,
    );
    t.equal(blockerTask.status, 'cancelled', 'its task is cancelled');
    t.equal(attemptsOf(blockerTask)[0]?.outcome, 'cancelled', 'the running attempt ended cancelled');
    if (processesVisible) {
      const left = await waitFor('the blocker processes gone', async () => ((await hostProcessesWith(MARKER)).length === 0 ? [] : undefined), 20_000, 100).catch(() =>
        hostProcessesWith(MARKER),
      );
      t.same(left, [], 'no process of the cancelled task is left on the host');
    }

    const [lowJob, highJob] = [await waitForJob(api, low, 60_000), await waitForJob(api, high, 60_000)];
    t.equal(lowJob.status, 'completed');
    t.equal(highJob.status, 'completed');
    const lowAttempt = attemptsOf(await taskOf(api, low))[0] ?? {};
    const highAttempt = attemptsOf(await taskOf(api, high))[0] ?? {};
    t.ok(time(highAttempt.dispatched_at) < time(lowAttempt.dispatched_at), `high was dispatched (${String(highAttempt.dispatched_at)}) before low (${String(lowAttempt.dispatched_at)})`);
    t.ok(time(lowAttempt.dispatched_at) >= time(highAttempt.ended_at), 'low ran only once high was done (one slot)');
    t.ok(time(highJob.started_at) <= time(lowJob.started_at), 'the high job started first');
    const droppedTask = await taskOf(api, dropped);
    t.equal(droppedTask.status, 'cancelled', 'the job cancelled while queued kept its task cancelled');
    t.same(attemptsOf(droppedTask), [], 'and it never ran, though capacity came free');
  });

  t.test('DAG, retries, reliability modes and result quality', async (t) => {
    // A → B → C; A takes a few seconds so B is seen waiting.
    const a = await submitJob(api, job({ n: 'a', sleep: 3 }));
    const b = await submitJob(api, job({ n: 'b' }, { depends_on: [a] }));
    const c = await submitJob(api, job({ n: 'c' }, { depends_on: [b] }));
    // A failing root, a dependent, and a dependent of the dependent.
    const root = await submitJob(api, job({ fail: true }, { max_retries: 0 }));
    const dependent = await submitJob(api, job({ n: 'd' }, { depends_on: [root] }));
    const transitive = await submitJob(api, job({ n: 'e' }, { depends_on: [dependent] }));
    // Retries: attempts 1 and 2 fail; 3 succeeds when allowed.
    const retried = await submitJob(api, job({ n: 'r', fail_attempts: [1, 2] }, { max_retries: 2 }));
    const exhausted = await submitJob(api, job({ n: 'x', fail_attempts: [1, 2] }, { max_retries: 1 }));
    // Watched from now on: the backoffs (2 s, then 4 s) are short windows.
    const inBackoff = waitFor(
      'the retried task in backoff',
      async () => {
        const task = await taskOf(api, retried);
        return task.pending_reason === 'retry_backoff' ? task : undefined;
      },
      60_000,
      100,
    ).catch((error: unknown): Json => ({ error: String(error) }));
    // One of three items fails, in each reliability mode.
    const strict = await submitJob(api, job({ n: [1, 2, 3], fail_items: [2] }, { fan_out: { by: 'n' }, reliability_mode: 'strict_complete' }));
    const bestEffort = await submitJob(api, job({ n: [1, 2, 3], fail_items: [2] }, { fan_out: { by: 'n' }, reliability_mode: 'best_effort' }));
    // Every task succeeds; one result fails 3 of the 4 checks that apply to it.
    const schema = { required_fields: ['score'], field_types: { score: 'number', label: 'string' }, field_ranges: { score: [0.0, 1.0] } };
    const quality = await submitJob(
      api,
      job({}, { fan_out: { items: [{ result: { score: 0.5, label: 'ok' } }, { result: { score: 'high', label: 3 } }, { result: { score: 0.9, label: 'fine' } }] }, result_schema: schema }),
    );

    await t.test('B stays queued with waiting_for while A runs', async (t) => {
      await waitFor('A running', async () => (await taskOf(api, a)).status === 'running', 60_000, 100);
      const bView = await expectStatus(200, api('GET', `/api/v1/jobs/${b}`), 'read B');
      const aView = await expectStatus(200, api('GET', `/api/v1/jobs/${a}`), 'read A');
      t.notOk(TERMINAL_JOB_STATUSES.includes(String(aView.status)), `A still ${String(aView.status)} after B was read`);
      t.equal(bView.status, 'queued', 'B is queued');
      t.same(bView.waiting_for, [a], 'B waits for A');
      t.equal((await taskOf(api, b)).pending_reason, 'waiting_dependencies', "B's task is held back");
      t.same((await expectStatus(200, api('GET', `/api/v1/jobs/${c}`), 'read C')).waiting_for, [b], 'C waits for B');
    });

    await t.test('A → B → C complete in order', async (t) => {
      const [aJob, bJob, cJob] = [await waitForJob(api, a), await waitForJob(api, b), await waitForJob(api, c)];
      t.same([aJob.status, bJob.status, cJob.status], ['completed', 'completed', 'completed']);
      t.ok(time(bJob.started_at) >= time(aJob.completed_at), `B started ${String(bJob.started_at)} ≥ A completed ${String(aJob.completed_at)}`);
      t.ok(time(cJob.started_at) >= time(bJob.completed_at), `C started ${String(cJob.started_at)} ≥ B completed ${String(bJob.completed_at)}`);
      t.same(bJob.waiting_for, []);
      const late = await submitJob(api, job({ n: 'after-a' }, { depends_on: [a] }));
      const lateJob = await waitForJob(api, late, 60_000);
      t.equal(lateJob.status, 'completed', 'a dependent submitted after its dependency completed runs at once');
    });

    await t.test('a failed dependency cancels its dependents, also ones submitted after it failed', async (t) => {
      const rootJob = await waitForJob(api, root);
      t.equal(rootJob.status, 'failed', 'the root failed');
      const late = await submitJob(api, job({ n: 'late' }, { depends_on: [root] }));
      for (const [id, dependency, what] of [
        [dependent, root, 'the dependent'],
        [transitive, dependent, "the dependent's dependent"],
        [late, root, 'a dependent submitted after the root failed'],
      ] as const) {
        const view = await waitForJob(api, id, 30_000);
        t.equal(view.status, 'cancelled', `${what} is cancelled`);
        t.match(String(view.cancel_reason), dependency, `${what}: cancel_reason names ${dependency}: ${String(view.cancel_reason)}`);
        t.match(String(view.error), dependency, `${what}: error names ${dependency}: ${String(view.error)}`);
        const tasks = await listTasks(api, id);
        t.ok(tasks.length > 0 && tasks.every((task) => task.status === 'cancelled' && attemptsOf(task).length === 0), `${what}: its tasks were cancelled without running`);
      }
    });

    await t.test('max_retries 2: two failed attempts, then success; each attempt keeps its error', async (t) => {
      const view = await waitForJob(api, retried, 120_000);
      t.equal(view.status, 'completed');
      const task = await taskOf(api, retried);
      const attempts = attemptsOf(task);
      t.same(attempts.map((a) => a.outcome), ['failed', 'failed', 'succeeded'], `three attempts: ${JSON.stringify(attempts)}`);
      t.same(attempts.map((a) => a.attempt), [1, 2, 3]);
      t.match(String(attempts[0]?.error), 'attempt 1 fails on purpose');
      t.match(String(attempts[1]?.error), 'attempt 2 fails on purpose');
      t.same(attempts.slice(0, 2).map((a) => a.exit_code), [1, 1]);
      t.equal(attempts[2]?.error, null);
      t.same(task.result, { n: 'r', attempt: 3 }, 'the result is the third attempt’s');
      // Backoff: each retry is dispatched only after the previous attempt ended plus 2^attempt s.
      for (let i = 1; i < attempts.length; i++) {
        const previous = attempts[i - 1] ?? {};
        const current = attempts[i] ?? {};
        t.ok(time(previous.started_at) < time(previous.ended_at) && time(previous.ended_at) < time(current.dispatched_at), `attempt ${i + 1} follows attempt ${i}`);
        t.ok(time(current.dispatched_at) - time(previous.ended_at) >= 2 ** i * 1000, `attempt ${i + 1} waited its backoff (2^${i} s) after attempt ${i} failed`);
      }
      const waiting = await inBackoff;
      t.equal(waiting.status, 'pending', `between attempts the task is pending… ${JSON.stringify(waiting).slice(0, 300)}`);
      t.match(String(waiting.error), /attempt [12] fails on purpose/, '…and still shows the failed attempt’s error');
      t.ok(waiting.retry_due_at !== null, `…with retry_due_at ${String(waiting.retry_due_at)}`);
      const gaps = [1, 2].map((i) => time(attempts[i]?.started_at) - time(attempts[i - 1]?.started_at));
      t.comment(`attempt start gaps: ${gaps.join(' ms, ')} ms`);
    });

    await t.test('max_retries 1: the same task fails after two attempts', async (t) => {
      const view = await waitForJob(api, exhausted, 120_000);
      t.equal(view.status, 'failed');
      t.match(String(view.error), 'attempt 2 fails on purpose', `the job error quotes the task's last error: ${String(view.error)}`);
      const task = await taskOf(api, exhausted);
      t.equal(task.status, 'failed');
      t.same(attemptsOf(task).map((a) => a.outcome), ['failed', 'failed']);
      t.match(String(attemptsOf(task)[0]?.error), 'attempt 1 fails on purpose');
    });

    await t.test('strict_complete fails where best_effort is partial', async (t) => {
      const strictJob = await waitForJob(api, strict);
      const bestJob = await waitForJob(api, bestEffort);
      t.equal(strictJob.status, 'failed', 'strict_complete: one missing task fails the job');
      t.equal(strictJob.reliability_mode, 'strict_complete');
      t.match(String(strictJob.error), /strict_complete/, String(strictJob.error));
      t.match(String(strictJob.error), 'item 2 fails on purpose');
      const strictTasks = await listTasks(api, strict);
      t.same(strictTasks.filter((task) => task.status === 'failed').map((task) => (task.payload as Json).n), [2], 'only item 2 failed');
      const cancelledTasks = strictTasks.filter((task) => task.status === 'cancelled').length;
      // Fail-fast cancels what is unfinished when the job decides; the error may only claim cancellations that happened or were sent.
      if (cancelledTasks > 0) t.match(String(strictJob.error), 'the remaining tasks were cancelled', `${cancelledTasks} task(s) cancelled by fail-fast`);
      else t.comment(`no task was left to cancel: ${String(strictJob.error)}`);
      t.equal(bestJob.status, 'partial', 'best_effort: the same job is partial');
      const results = await expectStatus(200, api('GET', `/api/v1/results/${bestEffort}`), 'best_effort results');
      t.same(results.completeness, { total_tasks: 3, succeeded_tasks: 2, missing_tasks: 1, ratio: 2 / 3 });
      t.same(results.aggregate_result, [
        { n: 1, attempt: 1 },
        { n: 3, attempt: 1 },
      ]);
    });

    await t.test('a result breaking the custom result_schema makes the job partial', async (t) => {
      const view = await waitForJob(api, quality);
      t.equal(view.status, 'partial', 'all tasks succeeded, one result is suspect');
      const tasks = await listTasks(api, quality);
      t.same(tasks.map((task) => task.status), ['succeeded', 'succeeded', 'succeeded']);
      // Checks on {score: "high", label: 3}: score present ✓, score a number ✗, label a string ✗, score in [0, 1] ✗.
      const expected = [1, 1 / 4, 1];
      tasks.forEach((task, i) => t.ok(Math.abs(Number(task.result_quality) - expected[i]!) < 1e-9, `task ${i} result_quality ${String(task.result_quality)} = ${expected[i]}`));
      const suspect = tasks[1] ?? {};
      t.ok(Number(suspect.result_quality) < 0.5, 'the suspect task is below 0.5');
      const warnings = (suspect.result_warnings ?? []) as string[];
      t.equal(warnings.length, 3, `one warning per failed check: ${JSON.stringify(warnings)}`);
      t.ok(warnings.some((w) => w.includes('"score"') && w.includes('number')), `a warning says score is not a number: ${JSON.stringify(warnings)}`);
      t.ok(warnings.some((w) => w.includes('"label"') && w.includes('string')), `a warning says label is not a string: ${JSON.stringify(warnings)}`);
      t.ok(warnings.some((w) => w.includes('"score"') && w.includes('[0, 1]')), `a warning names the range: ${JSON.stringify(warnings)}`);
      const summary = (view.summary as Json).quality as Json;
      t.equal(summary.suspect_count, 1);
      t.same(summary.suspect_task_ids, [suspect.id]);
      t.ok(Math.abs(Number(summary.mean_quality) - (expected[0]! + expected[1]! + expected[2]!) / 3) < 1e-9, `mean_quality ${String(summary.mean_quality)}`);
      t.match(String(view.error), /result_quality below 0.5/, String(view.error));
    });
  });

  t.test(`a ${FANOUT_TASKS}-task fan-out runs every item exactly once`, async (t) => {
    const items = Array.from({ length: FANOUT_TASKS }, (_, i) => i);
    const started = Date.now();
    const id = await submitJob(api, {
      type: 'structured_runner',
      project: 'lifecycle',
      runner_command: ['python3', '-S', 'echo.py'],
      payload: { item: items, shared: 'x' },
      fan_out: { by: 'item' },
      timeout_s: 120,
      requirements: { cpu: 1, memory_mb: 128, profile: 'cpu' },
    });
    const view = await waitForJob(api, id, 900_000, 1000);
    const elapsed = Date.now() - started;
    t.comment(`${FANOUT_TASKS} tasks: ${String(view.status)} ${elapsed} ms after submit (${(elapsed / FANOUT_TASKS).toFixed(0)} ms per task)`);
    t.equal(view.status, 'completed');
    t.same((view.summary as Json).tasks, { total: FANOUT_TASKS, pending: 0, finished: FANOUT_TASKS, succeeded: FANOUT_TASKS, failed: 0, cancelled: 0, timed_out: 0 });

    const tasks = await listTasks(api, id);
    t.equal(tasks.length, FANOUT_TASKS, 'every task is listed');
    t.equal(new Set(tasks.map((task) => task.id)).size, FANOUT_TASKS, 'task ids are unique');
    const seen = tasks.map((task) => (task.payload as Json).item as number).sort((x, y) => x - y);
    t.same(seen, items, 'each item is the payload of exactly one task');
    t.ok(tasks.every((task) => (task.payload as Json).shared === 'x'), 'every payload keeps the shared fields');
    t.ok(tasks.every((task) => attemptsOf(task).length === 1), 'one attempt each: nothing ran twice');

    const results = await expectStatus(200, api('GET', `/api/v1/results/${id}`), 'results');
    const resultTasks = results.tasks as Json[];
    t.equal(resultTasks.length, FANOUT_TASKS, `${FANOUT_TASKS} task results`);
    t.ok(
      resultTasks.every((task) => (task.result as Json | null)?.item === (task.payload as Json).item && (task.result as Json | null)?.task === task.task_id),
      "each result is its own task's (item and task id match)",
    );
    const collected = results.aggregate_result as Json[];
    t.equal(collected.length, FANOUT_TASKS, 'the collect merge holds every result');
    t.same(collected.map((r) => r.item).sort((x, y) => Number(x) - Number(y)), items, 'each item exactly once in the merged result');
  });
});
