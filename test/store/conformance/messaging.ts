import type { Test } from 'tap';
import { shardLeaseName, type MailboxDelivery } from '../../../src/store/store.js';
import { type MakeStore, message, openStore, ownShard, ref } from './helpers.js';

const eventIds = (deliveries: readonly MailboxDelivery[]) => deliveries.map((d) => d.message.eventId);

/** Mailboxes, acknowledgement, outbox and durable timers. */
export function messagingConformance(t: Test, makeStore: MakeStore): void {
  t.test('mailbox: append, read, ack, depth, reclaim', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const m1 = message(1, 'm1', ref('a'), { type: 'start', payload: { list: [1, 2] } });
    const m2 = message(2, 'm2');
    const m3 = message(1, 'm3');
    await store.appendMailbox([]);
    await store.appendMailbox([m1, m2, m3]);
    t.equal(await store.mailboxDepth(1), 2);
    t.equal(await store.mailboxDepth(2), 1);

    const delivered = await store.readMailbox([1, 2], 'c1', { count: 10, blockMs: 100 });
    t.same(eventIds(delivered).sort(), ['m1', 'm2', 'm3']);
    t.same(eventIds(delivered.filter((d) => d.shard === 1)), ['m1', 'm3'], 'oldest first within a shard');
    t.same(delivered.find((d) => d.message.eventId === 'm1')?.message, m1, 'message round-trips');
    t.equal(new Set(delivered.map((d) => `${d.shard}/${d.entryId}`)).size, 3, 'entry ids are distinct');
    t.same(await store.readMailbox([1, 2], 'c1', { count: 10, blockMs: 50 }), [], 'delivered entries are not handed out again');
    t.equal(await store.mailboxDepth(1), 2, 'pending entries count in the depth');

    const [d1, d3] = delivered.filter((d) => d.shard === 1);
    if (!d1 || !d3) throw new Error('missing deliveries');
    t.ok(await store.ackMailbox(1, fence, [d1.entryId]));
    t.equal(await store.mailboxDepth(1), 1, 'acknowledged entries leave the depth');
    t.ok(await store.ackMailbox(1, fence, [d1.entryId]), 'acknowledging twice is harmless');
    t.equal(await store.mailboxDepth(1), 1);

    const reclaimed = await store.reclaimMailbox(1, 'c2');
    t.same(reclaimed.map((d) => [d.entryId, d.message.eventId]), [[d3.entryId, 'm3']], 'the pending entry moves to the new consumer');
    t.same(await store.reclaimMailbox(3, 'c2'), [], 'nothing pending');
    t.ok(await store.ackMailbox(1, fence, [d3.entryId]));
    t.equal(await store.mailboxDepth(1), 0);
    t.same(await store.reclaimMailbox(1, 'c3'), [], 'acknowledged entries are never reclaimed');
  });

  t.test('mailbox: count limits, across shards', async (t) => {
    const { store } = await openStore(t, makeStore);
    await store.appendMailbox(['a', 'b', 'c', 'd', 'e'].map((id) => message(3, id)));
    const read = async () => eventIds(await store.readMailbox([3], 'c1', { count: 2, blockMs: 50 }));
    t.same(await read(), ['a', 'b']);
    t.same(await read(), ['c', 'd']);
    t.same(await read(), ['e']);

    await store.appendMailbox([message(0, 'x1'), message(1, 'y1'), message(0, 'x2'), message(1, 'y2'), message(0, 'x3'), message(1, 'y3')]);
    const first = await store.readMailbox([0, 1], 'c1', { count: 4, blockMs: 50 });
    t.equal(first.length, 4, 'never more than count, even over several shards');
    const rest = await store.readMailbox([0, 1], 'c1', { count: 10, blockMs: 50 });
    t.same([...eventIds(first), ...eventIds(rest)].sort(), ['x1', 'x2', 'x3', 'y1', 'y2', 'y3'], 'every message delivered exactly once');
    t.same(await store.readMailbox([0, 1], 'c1', { count: 10, blockMs: 0 }), [], 'blockMs 0 does not wait');
  });

  t.test('mailbox: a blocked read wakes when a message arrives', async (t) => {
    const { store } = await openStore(t, makeStore);
    const reading = store.readMailbox([2, 3], 'c1', { count: 10, blockMs: 10_000 });
    setTimeout(() => void store.appendMailbox([message(3, 'late')]), 100);
    t.same(eventIds(await reading), ['late']);
  });

  t.test('commit acknowledges mailbox entries atomically', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 3);
    await store.appendMailbox([message(3, 'create-a', ref('a'))]);
    const [delivery] = await store.readMailbox([3], 'c1', { count: 1, blockMs: 100 });
    if (!delivery) throw new Error('no delivery');
    const result = await store.commit({ shard: 3, fence, writes: [{ ref: ref('a'), expectedVersion: 0, snapshot: {} }], appliedEventIds: ['create-a'], ack: [delivery.entryId] });
    t.same(result, { ok: true, outboxIds: [] });
    t.equal(await store.mailboxDepth(3), 0);
    t.same(await store.reclaimMailbox(3, 'c2'), []);
  });

  t.test('commit appends messages to its own shard mailbox atomically', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 2);
    const ping = message(2, 'local-1', ref('job'), { type: 'job.task_finished', index: 7 });
    const ok = await store.commit({ shard: 2, fence, writes: [{ ref: ref('task'), expectedVersion: 0, snapshot: {} }], send: [ping, message(2, 'local-2', ref('job'))] });
    t.same(ok, { ok: true, outboxIds: [] }, 'no outbox record for a local send');
    const delivered = await store.readMailbox([2], 'c1', { count: 10, blockMs: 100 });
    t.same(eventIds(delivered), ['local-1', 'local-2'], 'appended in order with the commit');
    t.same(delivered[0]?.message, ping, 'message round-trips');

    const conflict = await store.commit({ shard: 2, fence, writes: [{ ref: ref('task'), expectedVersion: 0, snapshot: {} }], send: [message(2, 'lost')] });
    t.equal(conflict.ok, false);
    const stale = await store.commit({ shard: 2, fence: fence + 1, writes: [], send: [message(2, 'stale')] });
    t.same(stale, { ok: false, reason: 'stale_fence' });
    t.same(await store.readMailbox([2], 'c1', { count: 10, blockMs: 50 }), [], 'a refused commit appends nothing');
    await t.rejects(store.commit({ shard: 2, fence, writes: [], send: [message(3, 'elsewhere')] }), RangeError, 'another shard goes through the outbox');
  });

  t.test('outbox: written by commit, read in order, deleted with the fence', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const send = { kind: 'message', message: message(2, 'out-1', ref('b')) } as const;
    const effect = { kind: 'effect', effectId: 'fx-1', effect: { dispatch: { task: 't1' } } } as const;
    const first = await store.commit({ shard: 1, fence, writes: [{ ref: ref('a'), expectedVersion: 0, snapshot: {} }], outbox: [send, effect] });
    if (!first.ok) throw new Error('commit failed');
    t.equal(first.outboxIds.length, 2);
    t.equal(new Set(first.outboxIds).size, 2, 'distinct outbox ids');
    const second = await store.commit({ shard: 1, fence, writes: [], outbox: [{ kind: 'effect', effectId: 'fx-2', effect: null }] });
    if (!second.ok) throw new Error('commit failed');

    const records = await store.readOutbox(1, 10);
    t.same(records, [
      { outboxId: first.outboxIds[0], item: send },
      { outboxId: first.outboxIds[1], item: effect },
      { outboxId: second.outboxIds[0], item: { kind: 'effect', effectId: 'fx-2', effect: null } },
    ], 'in commit order');
    t.same((await store.readOutbox(1, 1)).map((r) => r.outboxId), [first.outboxIds[0]], 'limit');
    t.same(await store.readOutbox(2, 10), [], 'per shard');

    t.ok(await store.deleteOutbox(1, fence, first.outboxIds));
    t.same((await store.readOutbox(1, 10)).map((r) => r.outboxId), second.outboxIds);

    const takeover = await store.acquireLease(shardLeaseName(1), 'controller-b', 60_000);
    t.equal(takeover, null, 'held leases are not taken over');
    t.notOk(await store.deleteOutbox(1, fence + 1, second.outboxIds), 'a wrong fence deletes nothing');
    t.equal((await store.readOutbox(1, 10)).length, 1);
  });

  t.test('timers: scheduled by commit, fire when due, cancel, replace', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const fence2 = await ownShard(t, store, 2);
    const now = await store.now();
    const timer = (timerId: string, dueAt: number, eventId = timerId) => ({ timerId, dueAt, message: message(1, eventId, ref('a')) });
    t.equal(await store.nextTimerDue([]), null);
    t.equal(await store.nextTimerDue([1, 2]), null);

    await store.commit({ shard: 1, fence, writes: [], scheduleTimers: [timer('past', now - 1_000), timer('soon', now + 60_000), timer('later', now + 120_000)] });
    t.equal(await store.nextTimerDue([1]), now - 1_000);
    t.equal(await store.fireDueTimers(1, fence, now, 10), 1, 'only the due timer fires');
    t.same(eventIds(await store.readMailbox([1], 'c1', { count: 10, blockMs: 100 })), ['past'], 'its message is in the mailbox');
    t.equal(await store.fireDueTimers(1, fence, now, 10), 0, 'a timer fires once');
    t.equal(await store.nextTimerDue([1]), now + 60_000);

    await store.commit({ shard: 1, fence, writes: [], cancelTimers: ['soon', 'unknown'] });
    t.equal(await store.nextTimerDue([1]), now + 120_000, 'cancelled');

    await store.commit({ shard: 1, fence, writes: [], scheduleTimers: [timer('later', now - 10, 'later-v2')] });
    t.equal(await store.nextTimerDue([1]), now - 10, 'same id replaces');
    t.equal(await store.fireDueTimers(1, fence, now, 10), 1);
    t.same(eventIds(await store.readMailbox([1], 'c1', { count: 10, blockMs: 100 })), ['later-v2'], 'the replaced timer never fires');
    t.equal(await store.nextTimerDue([1]), null);

    await store.commit({ shard: 2, fence: fence2, writes: [], scheduleTimers: [{ timerId: 'edge', dueAt: now + 5_000, message: message(2, 'edge') }] });
    t.equal(await store.nextTimerDue([1, 2]), now + 5_000, 'earliest across shards');
    t.equal(await store.fireDueTimers(2, fence2, now + 4_999, 10), 0);
    t.equal(await store.fireDueTimers(2, fence2, now + 5_000, 10), 1, 'due at exactly now fires');
  });

  t.test('timers: limit, and a stale fence fires nothing', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const now = await store.now();
    const timers = ['t1', 't2', 't3', 't4', 't5'].map((id, i) => ({ timerId: id, dueAt: now - 100 + i, message: message(1, id) }));
    await store.commit({ shard: 1, fence, writes: [], scheduleTimers: timers });
    t.equal(await store.fireDueTimers(1, fence + 1, now, 10), 0, 'stale fence');
    t.equal(await store.mailboxDepth(1), 0);
    t.equal(await store.fireDueTimers(1, fence, now, 2), 2);
    t.same(eventIds(await store.readMailbox([1], 'c1', { count: 10, blockMs: 100 })), ['t1', 't2'], 'earliest first');
    t.equal(await store.fireDueTimers(1, fence, now, 10), 3);
    t.equal(await store.mailboxDepth(1), 5);
  });
}
