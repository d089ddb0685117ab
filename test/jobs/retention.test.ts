/**
 * Retention on a real controller node and embedded store: a job that ends is
 * filed for retention by the `job.terminal` effect; the sweeper deletes it —
 * job, tasks, read models, event logs, list entries — only once it is older
 * than the retention period, and only one sweeper works at a time.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { actorKinds } from '../../src/actors/index.js';
import { ControllerNode, type EffectHandler } from '../../src/actors/runtime/index.js';
import { jobRef, taskIdOf, taskRef } from '../../src/actors/shared/ids.js';
import { JobIndex } from '../../src/jobs/job-index.js';
import { RETENTION_QUEUE, RetentionSweeper, retentionListener } from '../../src/jobs/retention.js';
import { jobEffectHandlers } from '../../src/scheduler/index.js';
import { EmbeddedStore } from '../../src/store/embedded/index.js';
import { normaliseRequirements } from '../../src/actors/shared/resources.js';
import { ReadyQueues } from '../../src/scheduler/ready-queue.js';
import { createJobTasks } from '../helpers/job-tasks.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const DAY_MS = 24 * 3600_000;

async function startNode(t: Test) {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-retention-'));
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4 });
  const effectHandlers = new Map<string, EffectHandler>();
  const node = new ControllerNode({ store, kinds: actorKinds, logger, leaseTtlMs: 1_500, heartbeatIntervalMs: 200, effectHandlers });
  for (const [kind, handler] of jobEffectHandlers(node, store, [retentionListener(store)])) effectHandlers.set(kind, handler);
  await node.start();
  t.teardown(async () => {
    await node.stop();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { store, node, index: new JobIndex(store) };
}

t.test('a terminal job is deleted once past retention, not before', async (t) => {
  const { store, node, index } = await startNode(t);
  const jobId = 'job_20260101_000000_retain';
  await index.record({ accountId: 'acct_a', jobId, project: 'proj', tags: ['x'], createdAt: Date.now() });
  await node.send([
    node.message(jobRef(jobId), {
      type: 'job.submit',
      accountId: 'acct_a',
      jobType: 'structured_runner',
      project: 'proj',
      spec: { payload: {}, fan_out: { items: [{ a: 1 }, { a: 2 }] } },
      tags: ['x'],
    }),
  ]);
  const refs = [jobRef(jobId), taskRef(taskIdOf(jobId, 0)), taskRef(taskIdOf(jobId, 1))];
  await createJobTasks(node, store, jobId, 2);
  await node.send([node.message(jobRef(jobId), { type: 'job.cancel', reason: 'done with it' })]);
  const filed = await waitFor('job filed for retention', async () => (await store.queuePeek(RETENTION_QUEUE, 10))[0]);
  t.same(JSON.parse(filed.member), { accountId: 'acct_a', jobId, project: 'proj', tags: ['x'] });
  const [job] = (await node.readModels([jobRef(jobId)])) as { status: string; completed_at: string }[];
  t.equal(job?.status, 'cancelled');
  t.equal(filed.score, Date.parse(String(job?.completed_at)), 'scored by when it ended');
  await waitFor('tasks cancelled', async () => (await node.readModels(refs.slice(1))).every((task) => (task as { status: string }).status === 'cancelled'));

  const sweeper = (retentionMs: number, owner = 'c1') => new RetentionSweeper({ store, index, shardOf: (ref) => node.router.shardOf(ref), retentionMs, intervalMs: 60_000, owner, logger });
  t.equal(await sweeper(30 * DAY_MS).sweep(), 0, 'a job that ended just now is kept');
  t.ok((await node.readModels(refs)).every((model) => model !== null), 'everything is still there');

  const lease = await store.acquireLease('jobs-retention-sweeper', 'other-controller', 10_000);
  t.equal(await sweeper(0).sweep(), 0, 'while another controller holds the sweeper lease, nothing is done');
  await store.releaseLease('jobs-retention-sweeper', 'other-controller', lease?.token ?? 0);

  t.equal(await sweeper(0).sweep(), 1, 'past retention it is deleted');
  t.same(await node.readModels(refs), [null, null, null], 'job and task read models are gone');
  const shard = node.router.shardOf(jobRef(jobId));
  t.same(await store.loadEntities(shard, refs), [null, null, null], 'and their snapshots');
  t.same(await store.readEventLog(shard, jobRef(jobId)), [], 'and the event log');
  const range = ReadyQueues.encodeRange({ jobId, taskCount: 2, requirements: normaliseRequirements(null) });
  t.equal(await store.queueCloseRange(ReadyQueues.queueName('cpu'), range), null, 'and its ready-queue range, cursor and all');
  for (const scope of [{}, { project: 'proj' }, { tag: 'x' }]) t.equal(await index.count('acct_a', scope), 0, `no list still names it (${JSON.stringify(scope)})`);
  t.equal(await store.queueSize(RETENTION_QUEUE), 0, 'the retention entry goes last');
  t.equal(await sweeper(0).sweep(), 0, 'a second sweep finds nothing');

  // A late message to the deleted job is dropped, not resurrecting it.
  await node.send([node.message(jobRef(jobId), { type: 'job.cancel', reason: 'late' })]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(await node.readModels([jobRef(jobId)]), [null], 'a late event does not bring it back');
});
