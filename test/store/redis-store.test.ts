import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { RedisStore, shardLeaseName } from '../../src/store/index.js';
import { makeRedisStore, randomPrefix, startRedisServer, type TestRedisServer } from '../fixtures/redis-server.js';
import { storeConformance } from './conformance.js';

const SHARDS = 4;
const server = await startRedisServer(t);

function adminClient(t: Test, redis: TestRedisServer): Redis {
  const client = new Redis({ path: redis.path });
  t.teardown(() => client.disconnect());
  return client;
}

t.test('conformance', async (t) => {
  storeConformance(t, async () => {
    const prefix = randomPrefix();
    const store = await makeRedisStore(server, { prefix, shardCount: SHARDS });
    return {
      store,
      reopen: async () => {
        await store.close();
        return makeRedisStore(server, { prefix, shardCount: SHARDS });
      },
    };
  });
});

t.test('every key a shard touches in its scripts carries the shard tag', async (t) => {
  const store = await makeRedisStore(server, { shardCount: SHARDS });
  t.teardown(() => store.close());
  const lease = await store.acquireLease(shardLeaseName(3), 'owner', 60_000);
  if (!lease) throw new Error('lease not acquired');
  const fence = lease.token;
  const target = { kind: 'job', id: 'j1' };
  await store.appendMailbox([{ eventId: 'e0', target, shard: 3, event: { type: 'submit' } }]);
  const [delivery] = await store.readMailbox([3], 'c1', { count: 1, blockMs: 100 });
  if (!delivery) throw new Error('no delivery');
  const now = await store.now();

  const admin = adminClient(t, server);
  // monitor() opens a connection of its own; a lazy client never opens another.
  const monitor = await new Redis({ path: server.path, lazyConnect: true }).monitor();
  t.teardown(() => monitor.disconnect());
  const scriptCommands: string[][] = [];
  const marker = `end-of-test-${Math.random()}`;
  const sawMarker = new Promise<void>((resolve) => {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') scriptCommands.push(args);
      if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) resolve();
    });
  });

  const committed = await store.commit({
    shard: 3,
    fence,
    writes: [
      { ref: target, expectedVersion: 0, snapshot: { s: 1 }, readModel: { r: 1 }, log: [{ at: 1, type: 'created' }] },
      { ref: { kind: 'task', id: 'j1.0' }, expectedVersion: 0, snapshot: { s: 1 }, readModel: null },
    ],
    appliedEventIds: ['e0'],
    ack: [delivery.entryId],
    outbox: [{ kind: 'effect', effectId: 'fx', effect: { f: 1 } }],
    cancelTimers: ['gone'],
    scheduleTimers: [{ timerId: 'tm', dueAt: now - 1, message: { eventId: 'e1', target, shard: 3, event: { type: 'timeout' } } }],
  });
  if (!committed.ok) throw new Error(`commit failed: ${JSON.stringify(committed)}`);
  t.equal(await store.fireDueTimers(3, fence, now, 10), 1);
  t.ok(await store.ackMailbox(3, fence, ['0-1']));
  t.ok(await store.deleteOutbox(3, fence, committed.outboxIds));
  t.ok(await store.renewLease(shardLeaseName(3), 'owner', fence, 60_000));
  await admin.echo(marker);
  await sawMarker;

  const tags = new Map<string, string[]>();
  for (const args of scriptCommands) {
    const [command, ...rest] = args;
    if (!command || command.toLowerCase() === 'time') continue;
    const keys = (await admin.call('COMMAND', ['GETKEYS', command, ...rest])) as string[];
    for (const key of keys) {
      const tag = /\{([^}]*)\}/.exec(key)?.[1] ?? '(none)';
      tags.set(tag, (tags.get(tag) ?? []).concat(key));
    }
  }
  t.ok(scriptCommands.length > 15, `monitored ${scriptCommands.length} commands run by scripts`);
  t.same([...tags.keys()], ['s3'], 'one hash tag for the whole shard');
  const touched = new Set(tags.get('s3'));
  for (const suffix of ['lease', 'applied', 'mailbox', 'outbox', 'timers', 'timer-messages', 'e:job:j1', 'rm:job:j1', 'log:job:j1', 'e:task:j1.0', 'rm:task:j1.0']) {
    t.ok([...touched].some((key) => key.endsWith(`:{s3}:${suffix}`)), `touches ${suffix}`);
  }
});

t.test('creating and reading entities is one command per shard, with no side table', async (t) => {
  const store = await makeRedisStore(server, { shardCount: SHARDS });
  t.teardown(() => store.close());
  const lease = await store.acquireLease(shardLeaseName(1), 'owner', 60_000);
  if (!lease) throw new Error('lease not acquired');
  // Warm-up: ioredis falls back from EVALSHA to EVAL once per script.
  await store.commit({ shard: 1, fence: lease.token, writes: [{ ref: { kind: 'warm', id: 'up' }, expectedVersion: 0, snapshot: {} }] });
  await store.loadEntities(1, [{ kind: 'warm', id: 'up' }]);

  const admin = adminClient(t, server);
  const monitor = await new Redis({ path: server.path, lazyConnect: true }).monitor();
  t.teardown(() => monitor.disconnect());
  const clientCommands: string[][] = [];
  const marker = `end-of-test-${Math.random()}`;
  const sawMarker = new Promise<void>((resolve) => {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) resolve();
      else if (source !== 'lua') clientCommands.push(args);
    });
  });

  const refs = Array.from({ length: 100 }, (_, i) => ({ kind: 'task', id: `t${i}` }));
  const created = await store.commit({ shard: 1, fence: lease.token, writes: refs.map((ref) => ({ ref, expectedVersion: 0, snapshot: {}, readModel: ref.id, log: [{ at: 1, type: 'created' }] })) });
  t.same(created, { ok: true, outboxIds: [] });
  t.equal((await store.loadEntities(1, refs)).filter((e) => e?.version === 1).length, 100);
  t.same(await store.readReadModels(refs.slice(0, 2).map((ref) => ({ shard: 1, ref }))), ['t0', 't1']);
  t.equal((await store.readEventLog(1, refs[0]!)).length, 1);
  await admin.echo(marker);
  await sawMarker;

  t.same(
    clientCommands.map(([command]) => command?.toLowerCase()),
    ['evalsha', 'evalsha', 'mget', 'lrange'],
    'commit, load, read models, event log: one command each',
  );
  const keys = await Promise.all(clientCommands.map(async ([command, ...rest]) => (await admin.call('COMMAND', ['GETKEYS', command ?? '', ...rest])) as string[]));
  t.same([...new Set(keys.flat().map((key) => /\{([^}]*)\}/.exec(key)?.[1]))], ['s1'], 'every key in the shard\'s slot');
});

t.test('scripts survive SCRIPT FLUSH', async (t) => {
  const store = await makeRedisStore(server, { shardCount: SHARDS });
  t.teardown(() => store.close());
  const admin = adminClient(t, server);
  const lease = await store.acquireLease(shardLeaseName(0), 'owner', 60_000);
  if (!lease) throw new Error('lease not acquired');
  await admin.script('FLUSH');
  const ref = { kind: 'job', id: 'a' };
  t.same(await store.commit({ shard: 0, fence: lease.token, writes: [{ ref, expectedVersion: 0, snapshot: {} }] }), { ok: true, outboxIds: [] });
  await admin.script('FLUSH');
  t.same(await store.kvSet('k', 1), { key: 'k', value: 1, version: 1 });
  t.same(await store.loadEntities(0, [ref]), [{ ref, version: 1, snapshot: {} }]);
});

t.test('applied event ids are forgotten after the retention window', async (t) => {
  const store = await makeRedisStore(server, { shardCount: SHARDS, appliedRetentionMs: 100 });
  t.teardown(() => store.close());
  const lease = await store.acquireLease(shardLeaseName(0), 'owner', 60_000);
  if (!lease) throw new Error('lease not acquired');
  await store.commit({ shard: 0, fence: lease.token, writes: [], appliedEventIds: ['old'] });
  t.same([...(await store.filterApplied(0, ['old']))], ['old']);
  await new Promise((resolve) => setTimeout(resolve, 250));
  await store.commit({ shard: 0, fence: lease.token, writes: [], appliedEventIds: ['new'] });
  t.same([...(await store.filterApplied(0, ['old', 'new']))], ['new'], 'trimmed by the next commit');
});

t.test('misuse fails fast', async (t) => {
  const store = await makeRedisStore(server, { shardCount: SHARDS });
  t.teardown(() => store.close());
  await t.rejects(store.appendMailbox([{ eventId: 'e', target: { kind: 'k', id: 'i' }, shard: SHARDS, event: null }]), RangeError);
  await t.rejects(store.mailboxDepth(-1), RangeError);
  await t.rejects(
    store.commit({ shard: 0, fence: 1, writes: [], scheduleTimers: [{ timerId: 't', dueAt: 0, message: { eventId: 'e', target: { kind: 'k', id: 'i' }, shard: 1, event: null } }] }),
    RangeError,
    'a timer fires into its own shard',
  );
  await t.rejects(RedisStore.connect({ path: server.path, prefix: 'bad{prefix}', shardCount: 1 }), RangeError);
  await t.rejects(RedisStore.connect({ path: server.path, prefix: 'ok', shardCount: 0 }), RangeError);
});

t.test('one busy shard drains in reads of about the asked count, not of its fair share', async (t) => {
  const store = await makeRedisStore(server, { shardCount: 64 });
  t.teardown(() => store.close());
  const message = (shard: number, n: number) => ({ eventId: `e${shard}-${n}`, target: { kind: 'job', id: `j${shard}` }, shard, event: { type: 'x', n } });
  await store.appendMailbox([...Array.from({ length: 700 }, (_, n) => message(5, n)), message(9, 0), message(9, 1)]);
  const shards = Array.from({ length: 64 }, (_, shard) => shard);
  // The fair share of 64 streams is 32 entries each: a hot stream is topped up to the count.
  const first = await store.readMailbox(shards, 'c1', { count: 500, blockMs: 100 });
  t.equal(first.length, 500, 'one read takes the asked count');
  t.same(
    first.filter((d) => d.shard === 5).map((d) => (d.message.event as { n: number }).n),
    Array.from({ length: 498 }, (_, n) => n),
    'the hot shard in order',
  );
  t.equal(first.filter((d) => d.shard === 9).length, 2, 'the quiet shard is not starved');
  const second = await store.readMailbox(shards, 'c1', { count: 500, blockMs: 100 });
  t.equal(second.length, 202, 'the rest in the next read');
});

t.test('closing ends a blocked read', async (t) => {
  const store = await makeRedisStore(server, { shardCount: SHARDS });
  const reading = store.readMailbox([0], 'c1', { count: 1, blockMs: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  await store.close();
  t.same(await reading, []);
});

t.test('with appendonly, committed state survives kill -9 of redis-server', async (t) => {
  const durable = await startRedisServer(t, { durable: true });
  const prefix = randomPrefix();
  const store = await makeRedisStore(durable, { prefix, shardCount: SHARDS });
  t.teardown(() => store.close());
  const lease = await store.acquireLease(shardLeaseName(2), 'owner', 60_000);
  if (!lease) throw new Error('lease not acquired');
  const ref = { kind: 'job', id: 'durable' };
  const committed = await store.commit({
    shard: 2,
    fence: lease.token,
    writes: [{ ref, expectedVersion: 0, snapshot: { kept: true }, readModel: { status: 'queued' } }],
    outbox: [{ kind: 'effect', effectId: 'fx', effect: 1 }],
  });
  t.ok(committed.ok);
  await store.appendMailbox([{ eventId: 'm', target: ref, shard: 2, event: { type: 'x' } }]);
  await store.kvSet('durable-key', 'v');
  // With fsync every second Redis may answer before it writes the AOF when a
  // background fsync is slow (a loaded machine); kill -9 keeps only what it wrote.
  await aofWritten(durable.path);

  await durable.kill9();
  await durable.restart();

  const reopened = await makeRedisStore(durable, { prefix, shardCount: SHARDS });
  t.teardown(() => reopened.close());
  t.same(await reopened.loadEntities(2, [ref]), [{ ref, version: 1, snapshot: { kept: true } }]);
  t.same(await reopened.readReadModels([{ shard: 2, ref }]), [{ status: 'queued' }]);
  t.equal((await reopened.readOutbox(2, 10)).length, 1);
  t.same((await reopened.readMailbox([2], 'c1', { count: 10, blockMs: 100 })).map((d) => d.message.eventId), ['m']);
  t.same(await reopened.kvGet('durable-key'), { key: 'durable-key', value: 'v', version: 1 });
  t.same(await reopened.readLease(shardLeaseName(2)), lease, 'the lease too, with its expiry');
  t.same(
    await store.commit({ shard: 2, fence: lease.token, writes: [{ ref, expectedVersion: 1, snapshot: { kept: 2 } }] }),
    { ok: true, outboxIds: [] },
    'the first store reconnected by itself',
  );
});

/** Resolves once the server's AOF buffer is empty: every acknowledged write is in the file (the OS has it). */
async function aofWritten(path: string): Promise<void> {
  const probe = new Redis({ path });
  try {
    for (let i = 0; i < 500; i++) {
      const info = await probe.info('persistence');
      if (/aof_buffer_length:0\r?\n/.test(info)) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the AOF buffer never emptied');
  } finally {
    probe.disconnect();
  }
}
