/**
 * bench/runtime-commit — events committed per second through the actor
 * runtime on the Redis store, against BullMQ's `addBulk` + processing of the
 * same number of trivial jobs on the same redis-server, in the same run.
 *
 *   npm run bench:runtime-commit -- [--events 20000] [--entities 1000] [--shards 64]
 *
 * Each runtime event is a real `account.credit` through the real account
 * machine: load snapshot → transition() → atomic CAS commit (snapshot, read
 * model, event log, applied id, ack) — durable state, not a queue pop.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Queue, Worker } from 'bullmq';
import { actorKinds } from '../src/actors/index.js';
import { ControllerNode } from '../src/actors/runtime/index.js';
import { RedisStore } from '../src/store/index.js';
import { startRedisServerProcess } from '../src/store/redis/redis-server-process.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    entities: { type: 'string', default: '1000' },
    shards: { type: 'string', default: '64' },
  },
});
const EVENTS = Number(values.events);
const ENTITIES = Number(values.entities);
const SHARDS = Number(values.shards);
const CHUNK = 1_000;

async function drained(store: RedisStore): Promise<void> {
  const shards = Array.from({ length: SHARDS }, (_, i) => i);
  for (;;) {
    const depths = await Promise.all(shards.map((s) => store.mailboxDepth(s)));
    if (depths.every((d) => d === 0)) return;
    // Coarse on purpose: polling 64 shards competes with the runtime for Redis.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function benchRuntime(socket: string): Promise<number> {
  const store = await RedisStore.connect({ path: socket, prefix: 'bench', shardCount: SHARDS });
  const node = new ControllerNode({ store, kinds: actorKinds, logger: pino({ level: 'warn' }) });
  await node.start();
  const ids = Array.from({ length: ENTITIES }, (_, i) => `acct_bench_${i}`);
  await node.send(ids.map((id) => node.message({ kind: 'account', id }, { type: 'account.open', accountId: id, name: id })));
  await drained(store);

  const started = performance.now();
  for (let sent = 0; sent < EVENTS; sent += CHUNK) {
    const chunk = [];
    for (let i = sent; i < Math.min(EVENTS, sent + CHUNK); i++) {
      const id = ids[i % ENTITIES] as string;
      chunk.push(node.message({ kind: 'account', id }, { type: 'account.credit', amountMicros: 1, reason: 'adjustment', reference: `bench-${i}` }));
    }
    await node.send(chunk);
  }
  await drained(store);
  const seconds = (performance.now() - started) / 1000;

  const sample = (await node.readModels([{ kind: 'account', id: ids[0] as string }]))[0] as { ledger_balance_usd?: number } | null;
  const expected = Math.ceil(EVENTS / ENTITIES) / 1e6;
  if (!sample || Math.abs((sample.ledger_balance_usd ?? 0) - expected) > 1e-9) {
    throw new Error(`runtime result wrong: ${JSON.stringify(sample)} (expected balance ${expected})`);
  }
  await node.stop();
  await store.close();
  return EVENTS / seconds;
}

async function benchBullmq(socket: string): Promise<number> {
  const connection = { path: socket, maxRetriesPerRequest: null };
  const queue = new Queue('bench', { connection });
  let done = 0;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (resolveAll = resolve));
  const worker = new Worker(
    'bench',
    async () => {
      done++;
      if (done === EVENTS) resolveAll();
    },
    { connection, concurrency: 100, autorun: true },
  );
  await worker.waitUntilReady();

  const started = performance.now();
  for (let sent = 0; sent < EVENTS; sent += CHUNK) {
    const jobs = [];
    for (let i = sent; i < Math.min(EVENTS, sent + CHUNK); i++) jobs.push({ name: 'credit', data: { id: i % ENTITIES, amount: 1 }, opts: { removeOnComplete: true } });
    await queue.addBulk(jobs);
  }
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return EVENTS / seconds;
}

const dir = await mkdtemp(join(tmpdir(), 'computalot-bench-'));
const redis = await startRedisServerProcess({ dir });
try {
  const runtime = await benchRuntime(redis.path);
  const bullmq = await benchBullmq(redis.path);
  console.log(`runtime-commit: ${EVENTS} events over ${ENTITIES} accounts, ${SHARDS} shards, one controller, redis-server on a unix socket`);
  console.log(`computalot runtime: ${runtime.toFixed(0)} events/s committed`);
  console.log(`bullmq addBulk + process: ${bullmq.toFixed(0)} jobs/s`);
  console.log(`ratio (computalot / bullmq): ${(runtime / bullmq).toFixed(2)}`);
} finally {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}
