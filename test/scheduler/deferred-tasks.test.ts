/**
 * A job's tasks exist only once the scheduler dispatches them (see
 * `src/jobs/task-plan.ts`), on a real controller node and embedded store:
 * planning queues the job as one range; readers show tasks not created yet;
 * a cancel stops the range and ends the tasks handed out, including one whose
 * dispatch commit is still on its way.
 */
import t from 'tap';
import { attemptIdOf, jobRef, taskIdOf, taskRef } from '../../src/actors/shared/ids.js';
import { normaliseRequirements } from '../../src/actors/shared/resources.js';
import { JobReader } from '../../src/gateway/jobs/job-reader.js';
import { taskCreateEvent, TaskPlans } from '../../src/jobs/task-plan.js';
import { ReadyQueues } from '../../src/scheduler/ready-queue.js';
import type { JsonObject } from '../../src/shared/json.js';
import { startJobNode } from '../helpers/job-node.js';
import { waitFor } from '../helpers/wait.js';

const ACCOUNT = 'acct_deferred';

const { node, store } = await startJobNode(t, 'deferred');
const reader = new JobReader(node, store);

async function submit(jobId: string, items: JsonObject[], extra: JsonObject = {}): Promise<void> {
  await node.send([node.message(jobRef(jobId), { type: 'job.submit', accountId: ACCOUNT, jobType: 'structured_runner', project: 'p', spec: { payload: {}, fan_out: { items } }, ...extra })]);
}

const jobView = async (jobId: string) => reader.job(ACCOUNT, jobId);
const rangeOf = (jobId: string, taskCount: number) => ({ jobId, taskCount, requirements: normaliseRequirements(null) });

t.test('planning queues one range and creates no task; readers show the tasks to come', async (t) => {
  const jobId = 'job_20260101_000000_defer1';
  await submit(jobId, [{ n: 0 }, { n: 1 }, { n: 2 }], { priority: 'high' });
  await waitFor('the job queued', async () => (await jobView(jobId)).status === 'queued');
  const queued = await store.queuePeek(ReadyQueues.queueName('cpu'), 10);
  t.same(queued.map((item) => ReadyQueues.decodeRange(item.member)), [rangeOf(jobId, 3)], 'one member stands for the three tasks');
  t.same(await node.readModels([0, 1, 2].map((i) => taskRef(taskIdOf(jobId, i)))), [null, null, null], 'no task actor exists');

  const tasks = await reader.tasks(await jobView(jobId), 0, 10);
  t.equal(tasks.length, 3);
  t.match(tasks[1], {
    id: taskIdOf(jobId, 1),
    job_id: jobId,
    index: 1,
    status: 'pending',
    pending_reason: 'queued',
    attempt: 1,
    attempt_id: attemptIdOf(taskIdOf(jobId, 1), 1),
    payload: { n: 1 },
    priority: 'high',
    timeout_s: 600,
    attempts: [],
  });
  t.equal(tasks[1]?.created_at, (await jobView(jobId)).created_at, 'created with its job');

  // The scheduler's way: take from the range, create each task dispatched, in one commit.
  const taken = await new ReadyQueues(store).takeFromJob(rangeOf(jobId, 3), 2);
  t.same(taken, { from: 0, to: 2 });
  const plan = await TaskPlans.for(node, store).of(jobId);
  if (plan === null) throw new Error('no plan');
  await node.applyNow(
    [0, 1].map((index) => {
      const taskId = taskIdOf(jobId, index);
      return node.message(taskRef(taskId), taskCreateEvent(plan.template, index, plan.payloads[index] ?? null, { dispatchTo: 'w1' }), `create:${taskId}`);
    }),
  );
  const after = await reader.tasks(await jobView(jobId), 0, 10);
  t.same(after.map((task) => task.status), ['dispatched', 'dispatched', 'pending'], 'created where dispatched; the rest still shown as to come');
  t.same(after[0]?.payload, tasks[0]?.payload, 'the created task has the payload its view showed');
  t.equal(after[0]?.created_at, tasks[0]?.created_at);
});

t.test('a cancel closes the range and ends every task handed out, even one whose dispatch is still on its way', async (t) => {
  const jobId = 'job_20260101_000000_defer2';
  await submit(jobId, [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
  await waitFor('the job queued', async () => (await jobView(jobId)).status === 'queued');
  const queues = new ReadyQueues(store);
  // Taken by a scheduler whose dispatch commit has not landed yet.
  t.same(await queues.takeFromJob(rangeOf(jobId, 4), 2), { from: 0, to: 2 });

  await node.send([node.message(jobRef(jobId), { type: 'job.cancel', reason: 'changed my mind' })]);
  const refs = [0, 1, 2, 3].map((i) => taskRef(taskIdOf(jobId, i)));
  const views = await waitFor('the handed-out tasks cancelled', async () => {
    const found = (await node.readModels(refs)) as (JsonObject | null)[];
    return found[0]?.status === 'cancelled' && found[1]?.status === 'cancelled' ? found : undefined;
  });
  t.match(views[0], { status: 'cancelled', cancel_reason: 'changed my mind', payload: { n: 0 } }, 'created from the plan, then cancelled');
  t.same(views.slice(2), [null, null], 'tasks never handed out are never created');
  t.same(await queues.takeFromJob(rangeOf(jobId, 4), 2), null, 'the range hands out nothing more');

  // The late dispatch commit finds its task ended: nothing runs.
  const taskId = taskIdOf(jobId, 0);
  const plan = await TaskPlans.for(node, store).of(jobId);
  if (plan === null) throw new Error('no plan');
  await node.applyNow([node.message(taskRef(taskId), taskCreateEvent(plan.template, 0, plan.payloads[0] ?? null, { dispatchTo: 'w1' }), `create:${taskId}`)]);
  const [late] = (await node.readModels([taskRef(taskId)])) as JsonObject[];
  t.match(late, { status: 'cancelled', attempts: [] }, 'still cancelled, never dispatched');

  const listed = await reader.tasks(await jobView(jobId), 0, 10);
  t.same(listed.map((task) => task.status), ['cancelled', 'cancelled', 'cancelled', 'cancelled'], 'tasks the job never reached show as cancelled with it');
  t.equal(listed[3]?.cancel_reason, 'changed my mind');
});

t.test('a job behind dependencies is not queued; its tasks show as waiting for them', async (t) => {
  const jobId = 'job_20260101_000000_defer3';
  await submit(jobId, [{ n: 0 }], { dependsOn: ['job_20260101_000000_defer1'] });
  await waitFor('the job planned', async () => (await jobView(jobId)).summary !== undefined && ((await jobView(jobId)).summary as JsonObject).tasks !== undefined && (await jobView(jobId)).status === 'queued');
  t.equal(await new ReadyQueues(store).handedOut(jobId, 1, null), 0);
  const queued = (await store.queuePeek(ReadyQueues.queueName('cpu'), 10)).map((item) => ReadyQueues.decodeRange(item.member)?.jobId);
  t.notOk(queued.includes(jobId), 'no range until the dependency completes');
  t.match(await reader.tasks(await jobView(jobId), 0, 10), [{ status: 'pending', pending_reason: 'waiting_dependencies' }]);
});
