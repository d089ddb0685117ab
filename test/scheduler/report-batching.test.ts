/**
 * The scheduler's batching of agents' reports: start reports folded into
 * results (`StartFolding`), group commits (`GroupCommit`) and worker
 * allocation batches (`WorkerAllocationBatches`) — the last two against a
 * real controller node on an embedded store.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { workerRef } from '../../src/actors/shared/ids.js';
import { GroupCommit } from '../../src/scheduler/group-commit.js';
import { StartFolding } from '../../src/scheduler/start-folding.js';
import { WorkerAllocationBatches } from '../../src/scheduler/worker-allocations.js';
import type { MailboxMessage } from '../../src/store/store.js';
import { startJobNode } from '../helpers/job-node.js';
import { waitFor } from '../helpers/wait.js';

t.test('StartFolding', async (t) => {
  t.test('a start taken before the hold ends travels with the result and is never released', async (t) => {
    const released: string[] = [];
    const folding = new StartFolding(50, (attemptId) => released.push(attemptId));
    folding.hold('a1', 1000);
    t.equal(folding.take('a1'), 1000);
    t.equal(folding.take('a1'), undefined, 'taken once');
    await sleep(80);
    t.same(released, []);
  });

  t.test('a start still held when the hold ends is released with the time the agent reported it', async (t) => {
    const released: [string, number][] = [];
    const folding = new StartFolding(30, (attemptId, at) => released.push([attemptId, at]));
    // Report times steer which starts are due, so the test does not race the timer.
    const due = Date.now() - 1_000;
    const young = Date.now() + 60_000;
    folding.hold('a1', due);
    folding.hold('a2', young);
    for (let i = 0; i < 200 && released.length === 0; i++) await sleep(10);
    await sleep(50);
    t.same(released, [['a1', due]], 'only the start held a full interval, with the time the agent reported');
    t.equal(folding.take('a1'), undefined, 'a released start is not folded as well');
    t.equal(folding.take('a2'), young, 'the younger one is still held');
  });

  t.test('progress releases the start at once; stopping releases them all', async (t) => {
    const released: string[] = [];
    const folding = new StartFolding(10_000, (attemptId) => released.push(attemptId));
    folding.hold('a1', 1);
    folding.hold('a2', 2);
    folding.releaseNow('a1');
    folding.releaseNow('a3');
    t.same(released, ['a1'], 'only a held start is released');
    folding.releaseAll();
    t.same(released, ['a1', 'a2']);
  });

  t.test('a hold of 0 releases every start as it comes', async (t) => {
    const released: string[] = [];
    const folding = new StartFolding(0, (attemptId) => released.push(attemptId));
    folding.hold('a1', 1);
    t.same(released, ['a1']);
    t.equal(folding.take('a1'), undefined);
  });
});

t.test('GroupCommit: one batch at a time; what comes meanwhile is the next batch', async (t) => {
  const batches: number[][] = [];
  let finishApply: (() => void) | undefined;
  const group = new GroupCommit(async (messages) => {
    batches.push(messages.map((m) => (m.event as { n: number }).n));
    await new Promise<void>((resolve) => (finishApply = resolve));
  });
  const message = (n: number) => ({ eventId: `e${n}`, target: { kind: 'task', id: 't' }, shard: 0, event: { type: 'x', at: 0, n } }) as MailboxMessage;
  const first = [group.add(message(1)), group.add(message(2))];
  await sleep(5);
  t.same(batches, [[1, 2]], 'one turn of the event loop: one batch');
  const second = [group.add(message(3)), group.add(message(4)), group.add(message(5))];
  await sleep(5);
  t.same(batches, [[1, 2]], 'nothing else is applied while a batch is in flight');
  finishApply?.();
  await Promise.all(first);
  await sleep(5);
  t.same(batches, [[1, 2], [3, 4, 5]], 'what arrived meanwhile is applied as one batch');
  finishApply?.();
  await Promise.all(second);

  const failing = new GroupCommit(async () => {
    throw new Error('store down');
  });
  await t.rejects(failing.add(message(6)), /store down/, 'a failed batch rejects its senders (their reports stay unacknowledged)');
  const next = new GroupCommit(async (messages) => void batches.push(messages.map((m) => (m.event as { n: number }).n)));
  await next.add(message(7));
  t.same(batches.at(-1), [7]);
});

t.test('WorkerAllocationBatches: one allocations_changed per worker per interval, committed on the worker', async (t) => {
  const { node } = await startJobNode(t, 'worker-allocations');
  const workerId = 'wrk_batches';
  await node.send([
    node.message(workerRef(workerId), { type: 'worker.register', controllerId: node.controllerId, capacity: { cpu: 8, memoryMb: 8192 }, heartbeatIntervalMs: 60_000 }, `register:${workerId}`),
  ]);
  await node.send([node.message(workerRef(workerId), { type: 'worker.registered' })]);
  const errors: unknown[] = [];
  const batches = new WorkerAllocationBatches(node, (error) => errors.push(error), 20);
  const readWorker = async () => (await node.readModels([workerRef(workerId)]))[0] as { allocations: { attempt_id: string }[]; status: string } | null;
  const attempt = (n: number) => ({ taskId: `job_x.t${n}`, attemptId: `job_x.t${n}.a1`, requirements: { cpu: 1, memory_mb: 512 } });

  const allocationsOnWorker = (expected: string[]) =>
    waitFor(`worker allocations ${expected.join(',')}`, async () => {
      const view = await readWorker();
      return JSON.stringify(view?.allocations.map((a) => a.attempt_id)) === JSON.stringify(expected) ? view : undefined;
    });

  for (let n = 0; n < 5; n++) batches.assign(workerId, attempt(n));
  batches.release(workerId, 'job_x.t4.a1');
  const view = await allocationsOnWorker([0, 1, 2, 3].map((n) => `job_x.t${n}.a1`));
  t.equal(view?.status, 'ready', 'assigned and released in one batch: the worker holds the four still running');
  batches.release(workerId, 'job_x.t0.a1');
  batches.release(workerId, 'job_x.t1.a1');
  await allocationsOnWorker(['job_x.t2.a1', 'job_x.t3.a1']);
  t.same(errors, []);
});
