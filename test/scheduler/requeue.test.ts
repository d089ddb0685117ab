/**
 * A task waiting in `ready` whose queued attempt was claimed by a controller
 * that died before `task.dispatched` was committed: the attempt is out of the
 * queue and nobody will dispatch it. The task's `requeue` timer puts it back.
 * Real controller node, scheduler effect handlers and embedded store; the
 * timer's event is delivered the way the timer loop delivers it (as a
 * message), since its period is minutes.
 */
import t from 'tap';
import { taskRef } from '../../src/actors/shared/ids.js';
import { REQUEUE_CHECK_MS } from '../../src/actors/task/task.logic.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { startJobNode } from '../helpers/job-node.js';
import { waitFor } from '../helpers/wait.js';

const JOB = 'job_20261129_000000_requeu';
const TASK = `${JOB}.t0`;
const ATTEMPT = `${TASK}.a1`;

t.test('a claim lost with its controller is queued again by the requeue timer', async (t) => {
  const { node, store, effectHandlers } = await startJobNode(t, 'requeue');
  const scheduler = new Scheduler({ node, store, logger: silentLogger() });
  for (const [kind, handler] of scheduler.effectHandlers()) effectHandlers.set(kind, handler);
  const queuedAttempts = async () => (await scheduler.queues.peek('cpu', 10)).map((candidate) => candidate.attempt?.attemptId);

  const createdAt = Date.now();
  await node.send([node.message(taskRef(TASK), { type: 'task.create', at: createdAt, jobId: JOB, index: 0, payload: { n: 1 } }, `create:${TASK}`)]);
  await waitFor('the attempt queued', async () => ((await queuedAttempts()).includes(ATTEMPT) ? true : undefined));
  t.equal(await store.nextTimerDue(node.ownedShards()), createdAt + REQUEUE_CHECK_MS, 'the requeue timer is armed');

  // A controller claims the attempt, then dies before telling the task.
  const [claimed] = await scheduler.queues.peek('cpu', 10);
  t.same([...(await scheduler.queues.claimMany('cpu', [claimed?.member ?? '']))], [claimed?.member]);
  t.same(await queuedAttempts(), [], 'out of the queue; the task still waits in ready');

  const dueAt = createdAt + REQUEUE_CHECK_MS;
  await node.send([node.message(taskRef(TASK), { type: 'task.requeue_due', at: dueAt, attemptId: ATTEMPT }, `timer:task:${TASK}:requeue@${dueAt}`)]);
  await waitFor('the attempt queued again', async () => ((await queuedAttempts()).includes(ATTEMPT) ? true : undefined));
  t.same(await queuedAttempts(), [ATTEMPT], 'queued once');
  t.equal(await store.nextTimerDue(node.ownedShards()), dueAt + REQUEUE_CHECK_MS, 'and the timer re-armed');
});
