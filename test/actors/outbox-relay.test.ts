/**
 * The outbox relay runs each committed record's effects once per process:
 * the periodic sweep reads every record still in the outbox, including one
 * whose delivery is running or has just finished, and must not run it again
 * (a dispatch run twice, after its task ended, held an agent slot forever).
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { OutboxRelay, type ExternalEffect } from '../../src/actors/runtime/outbox-relay.js';
import { EmbeddedStore } from '../../src/store/index.js';
import { shardLeaseName, type Store } from '../../src/store/store.js';

const SHARD = 2;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

async function storeWithRecord(t: Test): Promise<{ store: Store; fence: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'computalot-relay-'));
  const store = await EmbeddedStore.open({ dataDir: dir, shardCount: 4 });
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const lease = await store.acquireLease(shardLeaseName(SHARD), 'me', 60_000);
  if (!lease) throw new Error('lease refused');
  const committed = await store.commit({
    shard: SHARD,
    fence: lease.token,
    writes: [],
    outbox: [
      {
        kind: 'batch',
        items: [
          { kind: 'effect', effectId: 'e1', effect: { kind: 'test.slow', data: 1, source: { kind: 'task', id: 'a' }, at: 1 } },
          { kind: 'effect', effectId: 'e2', effect: { kind: 'test.slow', data: 2, source: { kind: 'task', id: 'b' }, at: 1 } },
        ],
      },
    ],
  });
  if (!committed.ok) throw new Error('commit refused');
  return { store, fence: lease.token };
}

/** A handler that counts its runs and waits for `open()` before finishing. */
function gatedHandler(): { runs: ExternalEffect[]; open: () => void; handler: (effect: ExternalEffect) => Promise<void> } {
  const runs: ExternalEffect[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    runs,
    open,
    handler: async (effect) => {
      runs.push(effect);
      await gate;
    },
  };
}

t.test('a sweep while a record is being delivered does not run its effects again', async (t) => {
  const { store, fence } = await storeWithRecord(t);
  const slow = gatedHandler();
  const relay = new OutboxRelay(store, new Map([['test.slow', slow.handler]]), logger);
  const records = await store.readOutbox(SHARD, 10);
  t.equal(records.length, 1);
  const delivering = relay.deliver(SHARD, fence, records);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await relay.sweep(SHARD, fence), 1, 'the sweep sees the record, still in the outbox');
  t.same(
    slow.runs.map((effect) => effect.effectId),
    ['e1', 'e2'],
    'each effect ran once',
  );
  slow.open();
  await delivering;
  t.same(await store.readOutbox(SHARD, 10), [], 'deleted once delivered');
});

t.test('a record read before its delivery finished is not run again after it', async (t) => {
  const { store, fence } = await storeWithRecord(t);
  const slow = gatedHandler();
  const relay = new OutboxRelay(store, new Map([['test.slow', slow.handler]]), logger);
  const records = await store.readOutbox(SHARD, 10);
  const delivering = relay.deliver(SHARD, fence, records);
  // What a sweep read while the delivery ran, delivered by it only after the delivery finished.
  const readBySweep = await store.readOutbox(SHARD, 10);
  slow.open();
  await delivering;
  await relay.deliver(SHARD, fence, readBySweep);
  t.equal(slow.runs.length, 2, 'the two effects ran once each');
});

t.test('a record whose effect failed is delivered again by the next sweep, without its siblings', async (t) => {
  const { store, fence } = await storeWithRecord(t);
  const runs: number[] = [];
  let failNext = true;
  const relay = new OutboxRelay(
    store,
    new Map([
      [
        'test.slow',
        async (effect: ExternalEffect) => {
          runs.push(effect.data as number);
          if (effect.data === 2 && failNext) {
            failNext = false;
            throw new Error('not now');
          }
        },
      ],
    ]),
    logger,
  );
  await relay.sweep(SHARD, fence);
  t.equal((await store.readOutbox(SHARD, 10)).length, 1, 'kept while an effect failed');
  await relay.sweep(SHARD, fence);
  t.same(runs, [1, 2, 2], 'only the failed effect ran again');
  t.same(await store.readOutbox(SHARD, 10), []);
});

t.test('after a commit: the caller goes on once the effects ran; the record is deleted in the background', async (t) => {
  const { store, fence } = await storeWithRecord(t);
  const runs: string[] = [];
  // Deletions wait for `openDeletes`: the caller must not.
  let openDeletes!: () => void;
  const deletesOpen = new Promise<void>((resolve) => (openDeletes = resolve));
  const gated = new Proxy(store, {
    get(obj, prop, receiver) {
      if (prop === 'deleteOutbox') return async (...args: Parameters<Store['deleteOutbox']>) => (await deletesOpen, obj.deleteOutbox(...args));
      const value: unknown = Reflect.get(obj, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
    },
  });
  const relay = new OutboxRelay(gated, new Map([['test.slow', async (effect: ExternalEffect) => void runs.push(effect.effectId)]]), logger);
  const records = await store.readOutbox(SHARD, 10);
  await relay.deliverAfterCommit(SHARD, fence, records);
  t.same(runs, ['e1', 'e2'], 'both effects ran before it resolved');
  t.equal((await store.readOutbox(SHARD, 10)).length, 1, 'it resolved with the deletion still waiting');
  // A sweep now, with the deletion possibly still running, runs nothing again.
  await relay.sweep(SHARD, fence);
  openDeletes();
  await relay.settled();
  t.same(runs, ['e1', 'e2'], 'not run again');
  t.same(await store.readOutbox(SHARD, 10), [], 'deleted once settled');
});

t.test('after a commit: a deletion that fails leaves the record to the sweep, which does not run its effects again', async (t) => {
  const { store, fence } = await storeWithRecord(t);
  const runs: string[] = [];
  let failDeletes = true;
  const flaky = new Proxy(store, {
    get(obj, prop, receiver) {
      if (prop === 'deleteOutbox') {
        return async (...args: Parameters<Store['deleteOutbox']>) => {
          if (failDeletes) throw new Error('store unreachable');
          return obj.deleteOutbox(...args);
        };
      }
      const value: unknown = Reflect.get(obj, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
    },
  });
  const relay = new OutboxRelay(flaky, new Map([['test.slow', async (effect: ExternalEffect) => void runs.push(effect.effectId)]]), logger);
  await relay.deliverAfterCommit(SHARD, fence, await store.readOutbox(SHARD, 10));
  await relay.settled();
  t.equal((await store.readOutbox(SHARD, 10)).length, 1, 'the record is still there');
  failDeletes = false;
  await relay.sweep(SHARD, fence);
  t.same(runs, ['e1', 'e2'], 'the sweep did not run the effects again');
  t.same(await store.readOutbox(SHARD, 10), [], 'and deleted the record');
});
