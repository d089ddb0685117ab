/**
 * The SSE streams on a real `computalot dev` with its local agent, read by a
 * real HTTP client: one job (snapshot, live task output, events, the terminal
 * frame with the result surface, done), a watch over two jobs (pings, done
 * after both end, 422 and 404 before any stream) and a project stream (a job
 * submitted after connecting appears; the server ends it with `timeout`).
 */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComputalotProcess } from '../fixtures/controller-process.js';
import { openSse, type SseFrame, type SseStream } from '../helpers/sse-client.js';
import { gzipTar } from '../helpers/tarballs.js';
import { waitFor } from '../helpers/wait.js';

type Json = Record<string, unknown>;

/** Prints a line and a progress line, stays running a while, then writes its result. */
const RUNNER = `
import json, os, time
p = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))
print("hello from " + p.get("name", "task"), flush=True)
print("COMPUTALOT_PROGRESS:" + json.dumps({"epoch": 1, "percent": 50}), flush=True)
time.sleep(p.get("sleep_s", 1.5))
print("bye from " + p.get("name", "task"), flush=True)
json.dump({"name": p.get("name"), "score": 0.75}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))
`;

const PROJECT_FILES: Record<string, string> = {
  Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
  'computalot.project.json': JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' }, entrypoint: { command: ['python', 'stream.py'] } }),
  'stream.py': RUNNER,
};

const MISSING_JOB = 'job_20000101_000000_zzzzzz';
const RESULT_SURFACE = ['client_ref', 'tags', 'meta', 'variant', 'summary', 'aggregate_result', 'aggregate_aliases', 'completeness', 'result_persisted', 'output_persisted'];

function job(name: string, sleepS: number, extra: Json = {}): Json {
  return { type: 'structured_runner', project: 'streams', runner_command: ['python', 'stream.py'], payload: { name, sleep_s: sleepS }, timeout_s: 60, ...extra };
}

/** Ids must grow by one per frame on a connection. */
function idsOf(frames: readonly SseFrame[]): number[] {
  return frames.map((frame) => Number(frame.id));
}

function increasing(ids: readonly number[]): boolean {
  return ids.every((id, i) => Number.isInteger(id) && (i === 0 || id === (ids[i - 1] as number) + 1));
}

t.test('job, watch and project streams on a real controller', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-streams-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const dev = await startComputalotProcess(t, ['dev', '--port', '0', '--data-dir', dataDir, '--shards', '4'], { COMPUTALOT_LOG_LEVEL: 'warn' });
  await waitFor('dev ready', () => dev.ready(), 20_000);
  const token = (await readFile(join(dataDir, 'dev-api-key'), 'utf8')).trim();
  const auth = { authorization: `Bearer ${token}` };
  const api = async (method: string, path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${dev.url}${path}`, {
      method,
      headers: { ...auth, ...(raw || body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const submit = async (body: Json): Promise<string> => {
    const answer = await api('POST', '/api/v1/jobs', body);
    if (answer.status !== 201) throw new Error(`submit: ${answer.status} ${JSON.stringify(answer.body)}`);
    return String(answer.body.id);
  };
  const streams: SseStream[] = [];
  const open = async (path: string, headers: Record<string, string> = auth) => {
    const stream = await openSse(`${dev.url}${path}`, headers);
    streams.push(stream);
    return stream;
  };
  t.teardown(() => streams.forEach((stream) => stream.close()));

  t.equal((await api('POST', '/api/v1/projects', { name: 'streams', remote_dir: '/root/streams' })).status, 201);
  const tarball = gzipTar(Object.entries(PROJECT_FILES).map(([path, body]) => ({ path, body })));
  t.equal((await api('POST', '/api/v1/projects/streams/push', undefined, tarball)).status, 200);

  t.test('errors come as JSON before any stream', async (t) => {
    const anonymous = await open(`/api/v1/jobs/${MISSING_JOB}/stream`, {});
    t.equal(anonymous.status, 401, 'no token: 401');
    const missing = await open(`/api/v1/jobs/${MISSING_JOB}/stream`);
    await missing.ended;
    t.equal(missing.status, 404);
    t.match(missing.contentType, /application\/json/);
    t.equal((missing.frames[0]?.data.error as Json).code, 'job_not_found', 'like GET /api/v1/jobs/:id');
    const project = await open('/api/v1/projects/no-such-project/stream');
    await project.ended;
    t.equal(project.status, 404);
    t.equal((project.frames[0]?.data.error as Json).code, 'project_not_found');
    for (const ids of ['only-one', Array.from({ length: 101 }, (_, i) => `job_${i}`).join(',')]) {
      const watch = await open(`/api/v1/jobs/watch?ids=${ids}`);
      await watch.ended;
      t.equal(watch.status, 422, `${ids.split(',').length} ids: 422`);
      const error = watch.frames[0]?.data.error as Json;
      t.equal(error.code, 'validation_failed', 'the watch route answered, not /jobs/:id with id "watch"');
      t.match(error.details, { field: 'ids', min: 2, max: 100 });
    }
    const noIds = await open('/api/v1/jobs/watch');
    await noIds.ended;
    t.equal(noIds.status, 422, 'no ids at all: 422');
  });

  t.test('one job: snapshot, live output, events, terminal frame, done', async (t) => {
    const id = await submit(job('solo', 2, { client_ref: 'ref-1', tags: ['sse'], meta: { owner: 'tests' } }));
    const stream = await open(`/api/v1/jobs/${id}/stream`);
    t.equal(stream.status, 200);
    t.match(stream.contentType, /text\/event-stream/);
    const snapshot = await stream.next(() => true);
    t.equal(snapshot.event, 'snapshot', 'the first frame is the snapshot');
    t.equal((snapshot.data.job as Json).id, id);
    t.ok(Array.isArray(snapshot.data.tasks));

    // While the task sleeps, its printed line is already visible.
    const tailOf = (frame: SseFrame) => String((frame.data.live_feedback as { output_tail?: string | null } | null)?.output_tail ?? '');
    // Output and progress reach the task in separate reports: wait for a running frame that has both.
    const live = await stream.next((f) => f.event === 'task' && f.data.status === 'running' && tailOf(f).includes('hello from solo') && f.data.latest_progress !== null);
    t.equal(live.data.job_id, id);
    t.equal(live.data.task_id, `${id}.t0`);
    t.equal(live.data.attempt, 1);
    t.match(live.data.latest_progress, { epoch: 1, percent: 50 }, 'COMPUTALOT_PROGRESS reaches the stream');
    const done = await stream.next((f) => f.event === 'done', 30_000);
    await stream.ended;
    t.pass('the server ended the response after done');
    t.same(done.data, { job_ids: [id] });
    t.equal(stream.frames.at(-1), done, 'done is the last frame');

    const final = stream.frames.filter((f) => f.event === 'job').at(-1);
    t.equal(final?.data.status, 'completed');
    for (const field of RESULT_SURFACE) t.ok(final !== undefined && field in final.data, `terminal job frame carries ${field}`);
    t.equal(final?.data.client_ref, 'ref-1');
    t.same(final?.data.tags, ['sse']);
    t.same(final?.data.meta, { owner: 'tests' });
    t.equal(final?.data.result_persisted, true);
    t.match(final?.data.summary, { tasks: { total: 1, succeeded: 1 } });
    const results = await api('GET', `/api/v1/results/${id}`);
    t.same(final?.data.aggregate_result, results.body.aggregate_result, 'same aggregation as /results');
    t.same(final?.data.completeness, results.body.completeness);

    const lastTask = stream.frames.filter((f) => f.event === 'task').at(-1);
    t.equal(lastTask?.data.status, 'succeeded');
    t.match(lastTask === undefined ? '' : tailOf(lastTask), /bye from solo/);
    const events = stream.frames.filter((f) => f.event === 'event');
    t.ok(events.length > 0, 'event-log lines are streamed');
    const log = (await api('GET', `/api/v1/jobs/${id}/events`)).body.events as Json[];
    t.same(
      events.map((f) => f.data.seq),
      log.map((e) => e.seq),
      'every line of GET /events, once, in order',
    );
    t.match(events[0]?.data, { job_id: id, seq: 1, type: String(log[0]?.type) });
    t.ok(increasing(idsOf(stream.frames)), 'ids grow by one per frame');
    t.ok(
      stream.frames.findIndex((f) => f.event === 'job' && f.data.status === 'completed') > stream.frames.findIndex((f) => f.event === 'task' && f.data.status === 'succeeded'),
      'the terminal job frame follows the final task frame',
    );

    // Resuming: a snapshot again, ids continue after Last-Event-ID, and a terminal job ends at once.
    const resumed = await open(`/api/v1/jobs/${id}/stream`, { ...auth, 'last-event-id': '41' });
    await resumed.ended;
    t.same(
      resumed.frames.map((f) => f.event),
      ['snapshot', ...events.map(() => 'event'), 'done'],
      'a finished job: snapshot, its events, done',
    );
    t.equal(resumed.frames[0]?.id, '42', 'ids continue after Last-Event-ID');
    t.ok(RESULT_SURFACE.every((field) => field in ((resumed.frames[0]?.data.job as Json | undefined) ?? {})), 'a terminal snapshot carries the result surface');
  });

  t.test('watch: two jobs, pings, done when both are terminal', async (t) => {
    const first = await submit(job('w1', 1));
    const second = await submit(job('w2', 2, { client_ref: 'w2-ref' }));
    const missing = await open(`/api/v1/jobs/watch?ids=${first},${MISSING_JOB}`);
    await missing.ended;
    t.equal(missing.status, 404, 'an unknown id: 404');
    t.match(missing.frames[0]?.data.error, { code: 'job_not_found', details: { missing: [MISSING_JOB] } });

    const watch = await open(`/api/v1/jobs/watch?ids=${first},${second}&ping_interval_ms=200`);
    t.equal(watch.status, 200);
    const done = await watch.next((f) => f.event === 'done', 30_000);
    await watch.ended;
    t.same(done.data, { job_ids: [first, second] });
    const jobs = watch.frames.filter((f) => f.event === 'job');
    t.same(
      jobs.slice(0, 2).map((f) => f.data.job_id),
      [first, second],
      'the initial state of each job first',
    );
    t.ok(watch.frames.some((f) => f.event === 'ping'), 'idle periods emit ping');
    t.notOk(
      watch.frames.some((f) => f.event === 'task' || f.event === 'event'),
      'only job frames',
    );
    for (const id of [first, second]) {
      const final = jobs.filter((f) => f.data.job_id === id).at(-1);
      t.equal(final?.data.status, 'completed', `${id} ends completed`);
      for (const field of RESULT_SURFACE) t.ok(final !== undefined && field in final.data, `terminal frame of ${id} carries ${field}`);
    }
    t.equal(jobs.filter((f) => f.data.job_id === second).at(-1)?.data.client_ref, 'w2-ref');
    t.ok(increasing(idsOf(watch.frames)), 'ids grow by one per frame');
  });

  t.test('project stream: snapshot, a new job appears, timeout at the max duration', async (t) => {
    const before = (await api('GET', '/api/v1/jobs?project=streams')).body;
    const stream = await open('/api/v1/projects/streams/stream?ping_interval_ms=300');
    // A second connection only for the server-side end, so the first is not raced against the job's runtime.
    const opened = Date.now();
    const short = await open('/api/v1/projects/streams/stream?max_duration_ms=1500');
    t.equal(stream.status, 200);
    const snapshot = await stream.next(() => true);
    t.equal(snapshot.event, 'snapshot');
    t.equal(snapshot.data.project, 'streams');
    const listed = (snapshot.data.jobs as Json[]).map((j) => j.job_id);
    t.equal(listed.length, 3, 'the three jobs submitted so far');
    if (Array.isArray(before.jobs)) t.same(listed, (before.jobs as Json[]).map((j) => j.id), 'newest first, like GET /api/v1/jobs?project=');

    const id = await submit(job('late', 0.5));
    const appeared = await stream.next((f) => f.event === 'job' && f.data.job_id === id, 10_000);
    t.ok(appeared, 'a job submitted after connecting shows up');
    const ended = await stream.next((f) => f.event === 'job' && f.data.job_id === id && f.data.status === 'completed', 30_000);
    t.ok(RESULT_SURFACE.every((field) => field in ended.data), 'its terminal frame carries the result surface');
    t.ok(stream.frames.some((f) => f.event === 'ping'), 'idle periods emit ping');

    const timeout = await short.next((f) => f.event === 'timeout', 10_000);
    await short.ended;
    const elapsed = Date.now() - opened;
    t.ok(elapsed >= 1_400 && elapsed < 8_000, `the server closed it after its max duration (${elapsed} ms)`);
    t.match(timeout.data, { reason: 'max_duration', max_duration_ms: 1500, reconnect: true });
    t.equal(short.frames[0]?.event, 'snapshot');
    t.equal(short.frames.at(-1), timeout, 'timeout is the last frame');
  });

  // Last: it stops the controller.
  t.test('shutdown ends open streams instead of waiting for them', async (t) => {
    const id = await submit(job('long', 3));
    const jobStream = await open(`/api/v1/jobs/${id}/stream`);
    const projectStream = await open('/api/v1/projects/streams/stream');
    await Promise.all([jobStream.next((f) => f.event === 'snapshot'), projectStream.next((f) => f.event === 'snapshot')]);
    const stopping = Date.now();
    await dev.stop();
    await Promise.all([jobStream.ended, projectStream.ended]);
    const elapsed = Date.now() - stopping;
    t.ok(elapsed < 10_000, `the controller stopped with two streams open (${elapsed} ms)`);
    t.notOk(
      jobStream.frames.some((f) => f.event === 'done'),
      'no done frame: the job is not over, so a client reconnects',
    );
  });
});
