/**
 * Placement rules: requirements are minimums, CPU work spills onto GPU
 * agents, GPUs are whole; ready queues serve priority bands, then age, and a
 * claim succeeds for exactly one claimer — against a real Redis.
 */
import t from 'tap';
import { fits, subtract, type FreeCapacity } from '../../src/scheduler/capacity.js';
import { ReadyQueues } from '../../src/scheduler/ready-queue.js';
import { LocalAgentPool } from '../../src/scheduler/local-agents.js';
import { normaliseRequirements } from '../../src/actors/shared/resources.js';
import { makeRedisStore, startRedisServer } from '../fixtures/redis-server.js';

const cpuAgent: FreeCapacity = { cpu: 4, memoryMb: 8192, storageGb: 50, gpus: [], profile: 'cpu' };
const gpuAgent: FreeCapacity = { cpu: 8, memoryMb: 32768, storageGb: 100, gpus: [16384, 81920], profile: 'gpu' };

t.test('requirements are minimums on every dimension', async (t) => {
  t.ok(fits(normaliseRequirements({ cpu: 4, memory_mb: 8192 }), cpuAgent), 'exactly the capacity fits');
  t.notOk(fits(normaliseRequirements({ cpu: 5 }), cpuAgent), 'more cpu than the agent has');
  t.notOk(fits(normaliseRequirements({ memory_mb: 9000 }), cpuAgent), 'more memory');
  t.notOk(fits(normaliseRequirements({ storage_gb: 51 }), cpuAgent), 'more storage');
  t.notOk(fits(normaliseRequirements({ profile: 'gpu' }), cpuAgent), 'a GPU task never lands on a CPU-only agent');
  t.ok(fits(normaliseRequirements({ cpu: 2 }), gpuAgent), 'CPU work may spill onto a GPU agent');
  t.ok(fits(normaliseRequirements({ gpu_count: 1, gpu_memory_mb: 40000 }), gpuAgent), 'one GPU big enough exists');
  t.notOk(fits(normaliseRequirements({ gpu_count: 2, gpu_memory_mb: 40000 }), gpuAgent), 'but not two of them');
});

t.test('placing consumes capacity; GPUs are whole and best-fit', async (t) => {
  const afterSmall = subtract(gpuAgent, normaliseRequirements({ cpu: 2, memory_mb: 4096, gpu_count: 1, gpu_memory_mb: 8000 }));
  t.same(afterSmall.gpus, [81920], 'the small task took the small GPU, keeping the large one');
  t.equal(afterSmall.cpu, 6);
  t.ok(fits(normaliseRequirements({ gpu_count: 1, gpu_memory_mb: 80000 }), afterSmall), 'a large task still fits');
});

t.test('ready queues: priority bands, then age; one claimer wins', async (t) => {
  const redis = await startRedisServer(t);
  const store = await makeRedisStore(redis, { shardCount: 4 });
  t.teardown(() => store.close());
  const queues = new ReadyQueues(store);
  await queues.enqueue('j.t0', 'j.t0.a1', { cpu: 1 }, 'low', 1_000);
  await queues.enqueue('j.t1', 'j.t1.a1', { cpu: 1 }, 'normal', 3_000);
  await queues.enqueue('j.t2', 'j.t2.a1', { cpu: 1 }, 'high', 5_000);
  await queues.enqueue('j.t3', 'j.t3.a1', { cpu: 1 }, 'normal', 2_000);
  await queues.enqueue('j.t4', 'j.t4.a1', { profile: 'gpu' }, 'normal', 1_000);
  const order = (await queues.peek('cpu', 10)).map((c) => c.attempt?.attemptId);
  t.same(order, ['j.t2.a1', 'j.t3.a1', 'j.t1.a1', 'j.t0.a1'], 'high first, then normal by age, then low');
  t.same((await queues.peek('gpu', 10)).map((c) => c.attempt?.requirements.gpuCount), [1], 'GPU work waits in its own class');

  const [best] = await queues.peek('cpu', 1);
  const claims = await Promise.all([queues.claim('cpu', best?.member ?? ''), queues.claim('cpu', best?.member ?? '')]);
  t.same(claims.sort(), [false, true], 'exactly one of two concurrent claims wins');
  await queues.dequeue('j.t0', 'j.t0.a1', { cpu: 1 });
  t.equal(await queues.size('cpu'), 2, 'a cancelled attempt is removed by its requirements');
});

t.test('a job waits as one range ranked like its attempts; its tasks are taken in order, once', async (t) => {
  const redis = await startRedisServer(t);
  const store = await makeRedisStore(redis, { shardCount: 4 });
  t.teardown(() => store.close());
  const queues = new ReadyQueues(store);
  await queues.enqueue('j.t0', 'j.t0.a2', { cpu: 1 }, 'normal', 2_000);
  await queues.enqueueJob('job_big', 300, { cpu: 2, memory_mb: 2048 }, 'high', 5_000);
  await queues.enqueueJob('job_big', 300, { cpu: 2, memory_mb: 2048 }, 'high', 9_000);
  const [first, second] = await queues.peek('cpu', 10);
  const range = { jobId: 'job_big', taskCount: 300, requirements: normaliseRequirements({ cpu: 2, memory_mb: 2048 }) };
  t.same(first?.range, range, 'the high-priority job first, its requirements in the member');
  t.equal(first?.attempt, undefined);
  t.equal(second?.attempt?.attemptId, 'j.t0.a2', 'then the waiting retry');
  t.equal(await queues.size('cpu'), 2, 'queued once: a second push changes nothing');
  t.same(ReadyQueues.decode(first?.member ?? ''), undefined, 'a range never reads as an attempt');
  t.same(ReadyQueues.decodeRange(second?.member ?? ''), undefined, 'nor an attempt as a range');

  const takes = await Promise.all([queues.takeFromJob(range, 128), queues.takeFromJob(range, 128), queues.takeFromJob(range, 128)]);
  t.same(takes.map((taken) => (taken ? taken.to - taken.from : 0)).sort((a, b) => a - b), [44, 128, 128], 'three racing takes share the 300 tasks');
  t.equal(await queues.handedOut('job_big', 300, { cpu: 2, memory_mb: 2048 }), 300);
  t.same(await queues.takeFromJob(range, 128), null, 'nothing is left');
  t.equal(await queues.size('cpu'), 1, 'the used-up range left the queue');
});

t.test('claimed capacity lapses unless the dispatch is confirmed', async (t) => {
  const pool = new LocalAgentPool();
  const session = {
    workerId: 'w1',
    register: { agentId: 'a', hostname: 'h', capacity: { cpu: 2, memoryMb: 4096, storageGb: 10, gpus: [], profile: 'cpu' }, sandboxKinds: [], recipeRuntimes: [], labels: {}, agentVersion: '1', acceptsBatches: true },
    send: () => true,
    close: () => undefined,
  };
  pool.add(session);
  const req = normaliseRequirements({ cpu: 2, memory_mb: 1024 });
  t.ok(pool.canPlace('w1', req, 0));
  pool.hold('w1', 'x.a1', req, 0);
  t.notOk(pool.canPlace('w1', req, 1_000), 'held while the task decides');
  t.ok(pool.canPlace('w1', req, 60_000), 'an unconfirmed claim lapses');
  pool.hold('w1', 'x.a2', req, 60_000);
  pool.confirm('w1', 'x.a2');
  t.notOk(pool.canPlace('w1', req, 600_000), 'a confirmed dispatch holds until released');
  pool.release('w1', 'x.a2');
  t.ok(pool.canPlace('w1', req, 600_000));
  t.same(pool.remove('w1'), [], 'nothing left placed');
});
