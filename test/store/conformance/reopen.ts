import type { Test } from 'tap';
import { shardLeaseName } from '../../../src/store/store.js';
import { type MakeStore, message, openStore, ownShard, ref } from './helpers.js';

/** Committed state survives closing and reopening the store (a restart). */
export function reopenConformance(t: Test, makeStore: MakeStore): void {
  t.test('reopen: committed state is still there', async (t) => {
    const { store, reopen } = await openStore(t, makeStore);
    if (!reopen) {
      t.pass('skipped: this store cannot be reopened');
      return;
    }
    const fence = await ownShard(t, store, 1);
    const a = ref('a');
    const now = await store.now();
    const committed = await store.commit({
      shard: 1,
      fence,
      writes: [{ ref: a, expectedVersion: 0, snapshot: { n: 1 }, readModel: { status: 'new' }, log: [{ at: 1, type: 'created' }] }],
      appliedEventIds: ['ev-a'],
      outbox: [{ kind: 'effect', effectId: 'fx', effect: { go: true } }],
      scheduleTimers: [{ timerId: 'tm', dueAt: now + 60_000, message: message(1, 'tm', a) }],
    });
    if (!committed.ok) throw new Error('commit failed');
    await store.appendMailbox([message(2, 'pending'), message(2, 'waiting')]);
    t.equal((await store.readMailbox([2], 'c1', { count: 1, blockMs: 100 })).length, 1);
    await store.kvSet('k', { v: 1 });
    await store.queuePush('q', [{ member: 'x', score: 1 }]);
    await store.queuePushRange('q', 'range', 2);
    await store.queueTakeRange('q', 'range', 10, 3);
    const lease = await store.acquireLease('named', 'a', 60_000);
    if (!lease) throw new Error('lease not acquired');
    t.ok(await store.releaseLease('named', 'a', lease.token));
    t.ok(await store.releaseLease(shardLeaseName(1), 'controller-a', fence));

    const again = await reopen();
    t.teardown(() => again.close());
    t.same(await again.loadEntities(1, [a]), [{ ref: a, version: 1, snapshot: { n: 1 } }]);
    t.same(await again.readReadModels([{ shard: 1, ref: a }]), [{ status: 'new' }]);
    t.same(await again.readEventLog(1, a), [{ seq: 1, at: 1, type: 'created' }]);
    t.same([...(await again.filterApplied(1, ['ev-a']))], ['ev-a']);
    t.same(await again.readOutbox(1, 10), [{ outboxId: committed.outboxIds[0], item: { kind: 'effect', effectId: 'fx', effect: { go: true } } }]);
    t.equal(await again.nextTimerDue([1]), now + 60_000);
    t.equal(await again.mailboxDepth(2), 2, 'waiting and pending entries');
    t.same((await again.reclaimMailbox(2, 'c2')).map((d) => d.message.eventId), ['pending']);
    t.same((await again.readMailbox([2], 'c2', { count: 10, blockMs: 100 })).map((d) => d.message.eventId), ['waiting']);
    t.same(await again.kvGet('k'), { key: 'k', value: { v: 1 }, version: 1 });
    t.same(await again.queuePeek('q', 10), [
      { member: 'x', score: 1 },
      { member: 'range', score: 2 },
    ]);
    t.same(await again.queueTakeRange('q', 'range', 10, 3), { from: 3, to: 6 }, 'a range resumes at its cursor');

    const nextNamed = await again.acquireLease('named', 'b', 60_000);
    t.ok(nextNamed && nextNamed.token > lease.token, 'fencing tokens never go back');
    const nextShard = await again.acquireLease(shardLeaseName(1), 'controller-b', 60_000);
    if (!nextShard) throw new Error('lease not acquired');
    t.ok(nextShard.token > fence, 'shard tokens never go back');
    t.same(await again.commit({ shard: 1, fence: nextShard.token, writes: [{ ref: a, expectedVersion: 1, snapshot: { n: 2 } }] }), { ok: true, outboxIds: [] });
  });
}
