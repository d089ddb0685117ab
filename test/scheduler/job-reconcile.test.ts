/**
 * Stuck-job recovery on a real controller node and embedded store: the
 * reconcile effect rebuilds every finished task's report from its read model,
 * and a job that already counted a task is not moved by the repeat; tasks
 * taken from the job's range but never created are created.
 */
import t from 'tap';
import { jobRef, taskIdOf, taskRef } from '../../src/actors/shared/ids.js';
import { normaliseRequirements } from '../../src/actors/shared/resources.js';
import { ReadyQueues } from '../../src/scheduler/ready-queue.js';
import { missedTaskReports } from '../../src/scheduler/job-effects.js';
import { startJobNode } from '../helpers/job-node.js';
import { createJobTasks } from '../helpers/job-tasks.js';
import { waitFor } from '../helpers/wait.js';

type View = { status: string; summary: { tasks: { finished: number; cancelled: number } } };

t.test('finished tasks are reported again from their read models; the job counts each once', async (t) => {
  const { store, node, effectHandlers } = await startJobNode(t, 'reconcile');
  const jobId = 'job_20260101_000000_recon1';
  await node.send([
    node.message(jobRef(jobId), {
      type: 'job.submit',
      accountId: 'acct_a',
      jobType: 'structured_runner',
      project: 'proj',
      spec: { payload: {}, fan_out: { items: [{ a: 1 }, { a: 2 }, { a: 3 }] } },
    }),
  ]);
  const tasks = [0, 1, 2].map((i) => taskRef(taskIdOf(jobId, i)));
  await createJobTasks(node, store, jobId, 3);
  t.same(await missedTaskReports(node, jobId, 3), [], 'no task has finished: nothing to report');

  // Two tasks end (cancelled directly); the third is still pending.
  await node.send([0, 1].map((i) => node.message(tasks[i] ?? taskRef(''), { type: 'task.cancel', reason: 'test' })));
  const job = async () => ((await node.readModels([jobRef(jobId)])) as View[])[0] as View;
  await waitFor('the job counted both', async () => (await job()).summary.tasks.finished === 2);

  const reports = await missedTaskReports(node, jobId, 3);
  t.same(
    reports.map((report) => report.event),
    [0, 1].map((index) => ({
      type: 'job.task_finished',
      taskId: taskIdOf(jobId, index),
      index,
      outcome: 'cancelled',
      attempts: 0,
      runtimeMs: 0,
      resultQuality: null,
      error: null,
    })),
    'each finished task, rebuilt from its read model',
  );

  // The reconcile effect's handler sends them; the job already has them and does not count again.
  const reconcile = effectHandlers.get('job.reconcile_tasks');
  t.ok(reconcile, 'the handler is registered');
  await reconcile?.({ effectId: 'test-reconcile-1', kind: 'job.reconcile_tasks', data: { jobId, taskCount: 3, finishedCount: 1 }, source: jobRef(jobId), at: Date.now() });
  // The repeats were really sent and applied (by their derived ids), only for the finished tasks.
  const shard = node.router.shardOf(jobRef(jobId));
  const sent = ['test-reconcile-1/t0', 'test-reconcile-1/t1'];
  await waitFor('the re-sent reports applied', async () => (await store.filterApplied(shard, sent)).size === 2);
  t.same([...(await store.filterApplied(shard, [...sent, 'test-reconcile-1/t2']))].sort(), sent, 'no report for the unfinished task');
  const after = await job();
  t.equal(after.summary.tasks.finished, 2, 'still two finished: a repeated report is not counted twice');
  t.equal(after.summary.tasks.cancelled, 2);
  t.equal(after.status, 'queued', 'the third task is still pending');
});

t.test('tasks handed out whose dispatch commit never came are created, waiting, by the reconcile', async (t) => {
  const { store, node, effectHandlers } = await startJobNode(t, 'reconcile');
  const jobId = 'job_20260101_000000_recon2';
  const items = [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }];
  await node.send([node.message(jobRef(jobId), { type: 'job.submit', accountId: 'acct_a', jobType: 'structured_runner', project: 'proj', spec: { payload: {}, fan_out: { items } } })]);
  const job = async () => ((await node.readModels([jobRef(jobId)])) as View[])[0];
  await waitFor('the job planned', async () => (await job())?.status === 'queued');
  // A scheduler took the first two tasks and stopped before its dispatch commit.
  const range = { jobId, taskCount: 4, requirements: normaliseRequirements(null) };
  t.same(await new ReadyQueues(store).takeFromJob(range, 2), { from: 0, to: 2 });
  const tasks = [0, 1, 2, 3].map((i) => taskRef(taskIdOf(jobId, i)));
  t.same(await node.readModels(tasks), [null, null, null, null], 'no task exists');

  const reconcile = effectHandlers.get('job.reconcile_tasks');
  await reconcile?.({ effectId: 'test-reconcile-2', kind: 'job.reconcile_tasks', data: { jobId, taskCount: 4, finishedCount: 0, requirements: null }, source: jobRef(jobId), at: Date.now() });
  const views = (await waitFor('the lost tasks created', async () => {
    const found = await node.readModels(tasks);
    return found[0] !== null && found[1] !== null ? found : undefined;
  })) as ({ status: string; pending_reason: string; payload: unknown } | null)[];
  t.match(views.slice(0, 2), [
    { status: 'pending', pending_reason: 'queued', payload: { a: 1 } },
    { status: 'pending', pending_reason: 'queued', payload: { a: 2 } },
  ], 'created from the job\'s plan as waiting tasks, which queue themselves');
  t.same(views.slice(2), [null, null], 'tasks never handed out are left to the range');
  t.equal(await new ReadyQueues(store).handedOut(jobId, 4, null), 2, 'the range still holds the rest');
});
