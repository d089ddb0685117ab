import type { Test } from 'tap';
import { shardLeaseName, type EntityRef, type EntityWrite, type LocatedRef } from '../../../src/store/store.js';
import { createEntities, type MakeStore, message, openStore, ownShard, PAST_SHORT_TTL_MS, ref, SHORT_TTL_MS, sleep } from './helpers.js';

/** Most entity tests commit into shard 1, so they read from there too. */
function at1(entity: EntityRef): LocatedRef {
  return { shard: 1, ref: entity };
}

/** Entities, commits (CAS, fences, duplicates, atomicity), read models, event logs. */
export function entityConformance(t: Test, makeStore: MakeStore): void {
  t.test('entities: create with expectedVersion 0, load, CAS update', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const a = ref('a');
    t.same(await store.loadEntities(1, []), []);
    t.same(await store.loadEntities(1, [a]), [null], 'absent before creation');

    const snapshot = { value: 'idle', context: { n: 1, list: [1, 'x', null, true, { deep: 2.5 }] }, status: 'active' };
    t.same(await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 0, snapshot }] }), { ok: true, outboxIds: [] });
    const [loaded, missing] = await store.loadEntities(1, [a, ref('b')]);
    t.same(loaded, { ref: a, version: 1, snapshot }, 'version 1 after creation');
    t.equal(missing, null, 'unknown entity loads as null, order kept');

    t.same(await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 1, snapshot: { n: 2 } }] }), { ok: true, outboxIds: [] });
    t.same(await store.loadEntities(1, [a]), [{ ref: a, version: 2, snapshot: { n: 2 } }], 'version grows by one per commit');
    await t.rejects(store.loadEntities(store.shardCount, [a]), 'a shard outside the store is refused');
    await t.rejects(store.readEventLog(-1, a), 'a negative shard is refused');
    await t.rejects(store.readReadModels([{ shard: store.shardCount, ref: a }]), 'for read models too');
  });

  t.test('purge: snapshot, read model and log are gone; a late commit conflicts; others stay', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const [a, b] = [ref('a'), ref('b')];
    for (const entity of [a, b]) {
      await store.commit({ shard: 1, fence, writes: [{ ref: entity, expectedVersion: 0, snapshot: { v: 1 }, readModel: { id: entity.id }, log: [{ at: 1, type: 'created' }] }] });
    }
    await store.purgeEntities(1, [a, ref('never-existed')]);
    await store.purgeEntities(1, []);
    t.same(await store.loadEntities(1, [a, b]), [null, { ref: b, version: 1, snapshot: { v: 1 } }], 'only the purged entity is gone');
    t.same(await store.readReadModels([at1(a), at1(b)]), [null, { id: 'b' }]);
    t.same(await store.readEventLog(1, a), [], 'its log too');
    t.equal((await store.readEventLog(1, b)).length, 1);
    const late = await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 1, snapshot: { v: 2 } }] });
    t.same(late, { ok: false, reason: 'conflict', ref: a, actualVersion: 0 }, 'a commit made before the purge no longer applies');
    await t.rejects(store.purgeEntities(store.shardCount, [a]), 'a shard outside the store is refused');
  });

  t.test('entities: kinds and ids are kept apart, across shards', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence1 = await ownShard(t, store, 1);
    const fence2 = await ownShard(t, store, 2);
    const x = { kind: 'a:b', id: 'c' };
    const y = { kind: 'a', id: 'b:c' };
    const z = { kind: 'job', id: 'c' };
    await createEntities(t, store, 1, fence1, [x, y]);
    await createEntities(t, store, 2, fence2, [z]);
    const inShard1 = await store.loadEntities(1, [y, x]);
    t.same(inShard1.map((e) => e?.snapshot), [{ id: 'b:c' }, { id: 'c' }]);
    t.same(inShard1.map((e) => e?.ref), [y, x]);
    t.same(await store.loadEntities(2, [z]), [{ ref: z, version: 1, snapshot: { id: 'c' } }]);
  });

  t.test('commit conflict: reports the actual version and writes nothing', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const a = ref('a');
    const b = ref('b');
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 0, snapshot: { v: 1 }, readModel: { a: 1 }, log: [{ at: 1, type: 'created' }] }] });
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 1, snapshot: { v: 2 } }] });
    await createEntities(t, store, 1, fence, [b]);
    await store.appendMailbox([message(1, 'm1')]);
    const [delivery] = await store.readMailbox([1], 'c1', { count: 1, blockMs: 100 });
    t.ok(delivery, 'a mailbox entry to acknowledge');

    const now = await store.now();
    const writes: EntityWrite[] = [
      // The good write comes first: validation must finish before any write.
      { ref: b, expectedVersion: 1, snapshot: { changed: true }, readModel: { b: 2 }, log: [{ at: 2, type: 'changed' }] },
      { ref: a, expectedVersion: 1, snapshot: { v: 'stale' }, readModel: null },
    ];
    const result = await store.commit({
      shard: 1,
      fence,
      writes,
      appliedEventIds: ['ev-1'],
      ack: delivery ? [delivery.entryId] : [],
      outbox: [{ kind: 'effect', effectId: 'fx-1', effect: { x: 1 } }],
      scheduleTimers: [{ timerId: 'tm-1', dueAt: now + 60_000, message: message(1, 'timer-ev') }],
    });
    t.same(result, { ok: false, reason: 'conflict', ref: a, actualVersion: 2 });

    const [loadedA, loadedB] = await store.loadEntities(1, [a, b]);
    t.same(loadedA, { ref: a, version: 2, snapshot: { v: 2 } }, 'conflicting entity untouched');
    t.same(loadedB, { ref: b, version: 1, snapshot: { id: 'b' } }, 'other entity of the batch untouched');
    t.same(await store.readReadModels([at1(a), at1(b)]), [{ a: 1 }, null], 'read models untouched');
    t.same((await store.readEventLog(1, a)).length, 1, 'event log untouched');
    t.same(await store.readEventLog(1, b), [], 'no log line for the rejected write');
    t.same([...(await store.filterApplied(1, ['ev-1']))], [], 'applied ids not recorded');
    t.equal(await store.mailboxDepth(1), 1, 'mailbox entry not acknowledged');
    t.same(await store.readOutbox(1, 10), [], 'no outbox items');
    t.equal(await store.nextTimerDue([1]), null, 'no timers');

    t.same(await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 0, snapshot: {} }] }), { ok: false, reason: 'conflict', ref: a, actualVersion: 2 }, 'creating an existing entity conflicts');
    t.same(await store.commit({ shard: 1, fence, writes: [{ ref: ref('nope'), expectedVersion: 3, snapshot: {} }] }), { ok: false, reason: 'conflict', ref: ref('nope'), actualVersion: 0 }, 'updating an absent entity conflicts with 0');
    t.same(await store.loadEntities(1, [ref('nope')]), [null]);
  });

  t.test('commit fence: rejected without the lease, after a new owner, after expiry', async (t) => {
    const { store } = await openStore(t, makeStore);
    const a = ref('a');
    const write = (expectedVersion: number) => [{ ref: a, expectedVersion, snapshot: { expectedVersion } }];

    t.same(await store.commit({ shard: 1, fence: 1, writes: write(0) }), { ok: false, reason: 'stale_fence' }, 'no lease at all');

    const first = await store.acquireLease(shardLeaseName(1), 'controller-a', 60_000);
    if (!first) throw new Error('lease not acquired');
    t.same(await store.commit({ shard: 1, fence: first.token + 1, writes: write(0) }), { ok: false, reason: 'stale_fence' }, 'a token never issued');
    t.same(await store.commit({ shard: 2, fence: first.token, writes: write(0) }), { ok: false, reason: 'stale_fence' }, 'the lease of another shard');
    t.same(await store.commit({ shard: 1, fence: first.token, writes: write(0) }), { ok: true, outboxIds: [] });

    t.ok(await store.releaseLease(shardLeaseName(1), 'controller-a', first.token));
    const second = await store.acquireLease(shardLeaseName(1), 'controller-b', 60_000);
    if (!second) throw new Error('lease not acquired');
    t.ok(second.token > first.token, 'new owner gets a larger token');
    t.same(await store.commit({ shard: 1, fence: first.token, writes: write(1) }), { ok: false, reason: 'stale_fence' }, 'old owner is fenced off');
    t.same(await store.loadEntities(1, [a]), [{ ref: a, version: 1, snapshot: { expectedVersion: 0 } }], 'nothing written by the old owner');
    t.same(await store.commit({ shard: 1, fence: second.token, writes: write(1) }), { ok: true, outboxIds: [] });

    const short = await store.acquireLease(shardLeaseName(3), 'controller-c', SHORT_TTL_MS);
    if (!short) throw new Error('lease not acquired');
    t.same(await store.commit({ shard: 3, fence: short.token, writes: [{ ref: ref('c'), expectedVersion: 0, snapshot: {} }] }), { ok: true, outboxIds: [] });
    await sleep(PAST_SHORT_TTL_MS);
    t.same(await store.commit({ shard: 3, fence: short.token, writes: [{ ref: ref('c'), expectedVersion: 1, snapshot: {} }] }), { ok: false, reason: 'stale_fence' }, 'an expired lease fences even before anyone else takes it');
  });

  t.test('commit: applied event ids are recorded per shard and duplicates rejected', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    await ownShard(t, store, 2);
    const a = ref('a');
    t.same([...(await store.filterApplied(1, []))], []);
    t.same(await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 0, snapshot: {} }], appliedEventIds: ['e1', 'e2'] }), { ok: true, outboxIds: [] });
    t.same([...(await store.filterApplied(1, ['e1', 'e3', 'e2']))].sort(), ['e1', 'e2']);
    t.same([...(await store.filterApplied(2, ['e1']))], [], 'other shards have their own record');

    const duplicate = await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 1, snapshot: { again: true } }], appliedEventIds: ['e3', 'e1'] });
    t.same(duplicate, { ok: false, reason: 'duplicate', eventId: 'e1' });
    t.same(await store.loadEntities(1, [a]), [{ ref: a, version: 1, snapshot: {} }], 'nothing written');
    t.same([...(await store.filterApplied(1, ['e3']))], [], 'the new id of the rejected commit is not recorded');
    t.same(await store.commit({ shard: 1, fence, writes: [], appliedEventIds: ['e3'] }), { ok: true, outboxIds: [] }, 'a commit may only record applied ids');
    t.same([...(await store.filterApplied(1, ['e3']))], ['e3']);
  });

  t.test('read models: set, kept when absent, deleted by null', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const a = ref('a');
    const b = ref('b');
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 0, snapshot: {}, readModel: { status: 'queued', tasks: [1, 2] } }, { ref: b, expectedVersion: 0, snapshot: {} }] });
    t.same(await store.readReadModels([]), []);
    t.same(await store.readReadModels([at1(a), at1(b), at1(ref('missing'))]), [{ status: 'queued', tasks: [1, 2] }, null, null]);
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 1, snapshot: { n: 1 } }] });
    t.same(await store.readReadModels([at1(a)]), [{ status: 'queued', tasks: [1, 2] }], 'absent readModel leaves it');
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 2, snapshot: {}, readModel: 'done' }] });
    t.same(await store.readReadModels([at1(a)]), ['done'], 'any JSON value');
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 3, snapshot: {}, readModel: null }] });
    t.same(await store.readReadModels([at1(a)]), [null], 'null deletes it');
  });

  t.test('read models: one call spans shards, in request order', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence1 = await ownShard(t, store, 1);
    const fence2 = await ownShard(t, store, 2);
    const a = ref('a');
    const b = ref('b');
    const c = ref('c');
    await store.commit({ shard: 1, fence: fence1, writes: [{ ref: a, expectedVersion: 0, snapshot: {}, readModel: 'a@1' }, { ref: c, expectedVersion: 0, snapshot: {}, readModel: 'c@1' }] });
    await store.commit({ shard: 2, fence: fence2, writes: [{ ref: b, expectedVersion: 0, snapshot: {}, readModel: 'b@2' }] });
    const located = [{ shard: 2, ref: b }, at1(a), { shard: 2, ref: ref('missing') }, at1(c)];
    t.same(await store.readReadModels(located), ['b@2', 'a@1', null, 'c@1']);
  });

  t.test('event log: seq, afterSeq, limit', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const a = ref('a');
    t.same(await store.readEventLog(1, a), [], 'unknown entity has no history');
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 0, snapshot: {}, log: [{ at: 10, type: 'created', data: { by: 'x' } }, { at: 11, type: 'queued' }] }] });
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 1, snapshot: {} }] });
    await store.commit({ shard: 1, fence, writes: [{ ref: a, expectedVersion: 2, snapshot: {}, log: [{ at: 12, type: 'running', data: null }] }] });

    const all = await store.readEventLog(1, a);
    t.same(all, [
      { seq: 1, at: 10, type: 'created', data: { by: 'x' } },
      { seq: 2, at: 11, type: 'queued' },
      { seq: 3, at: 12, type: 'running', data: null },
    ]);
    t.notOk(all[1] && 'data' in all[1] && all[1].data !== undefined, 'absent data stays absent');
    t.same((await store.readEventLog(1, a, { afterSeq: 1 })).map((r) => r.seq), [2, 3]);
    t.same((await store.readEventLog(1, a, { limit: 1 })).map((r) => r.seq), [1]);
    t.same((await store.readEventLog(1, a, { afterSeq: 1, limit: 1 })).map((r) => r.seq), [2]);
    t.same(await store.readEventLog(1, a, { afterSeq: 3 }), []);
  });

  t.test('commit: 10,000 entity writes in one atomic step', async (t) => {
    const { store } = await openStore(t, makeStore);
    const fence = await ownShard(t, store, 1);
    const refs = Array.from({ length: 10_000 }, (_, i) => ref(`task-${i}`, 'task'));
    const created = await store.commit({
      shard: 1,
      fence,
      writes: refs.map((r, i) => ({ ref: r, expectedVersion: 0, snapshot: { i }, readModel: { i }, log: [{ at: i, type: 'created' }] })),
      appliedEventIds: refs.map((r) => `create-${r.id}`),
    });
    t.same(created, { ok: true, outboxIds: [] });
    const loaded = await store.loadEntities(1, refs);
    t.equal(loaded.filter((e, i) => e?.version === 1 && (e.snapshot as { i: number }).i === i).length, 10_000, 'every entity created');
    t.equal((await store.filterApplied(1, [`create-task-0`, 'create-task-9999'])).size, 2);

    const updated = await store.commit({ shard: 1, fence, writes: refs.map((r, i) => ({ ref: r, expectedVersion: 1, snapshot: { i, done: true } })) });
    t.same(updated, { ok: true, outboxIds: [] });
    const sample = await store.loadEntities(1, [refs[0]!, refs[9_999]!]);
    t.same(sample.map((e) => e?.version), [2, 2]);
  });
}
