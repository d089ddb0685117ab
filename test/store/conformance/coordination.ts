import type { Test } from 'tap';
import { shardLeaseName } from '../../../src/store/store.js';
import { type MakeStore, openStore, PAST_SHORT_TTL_MS, SHORT_TTL_MS, sleep } from './helpers.js';

/** Priority queues, leases, group membership, KV and the clock. */
export function coordinationConformance(t: Test, makeStore: MakeStore): void {
  t.test('queues: lowest score first, pop, remove, peek, size', async (t) => {
    const { store } = await openStore(t, makeStore);
    t.equal(await store.queueSize('ready'), 0);
    t.same(await store.queuePop('ready', 5), []);
    await store.queuePush('ready', []);
    await store.queuePush('ready', [
      { member: 'a', score: 3 },
      { member: 'b', score: 1 },
      { member: 'c', score: 2 },
    ]);
    await store.queuePush('ready', [{ member: 'd', score: -1.5 }]);
    t.equal(await store.queueSize('ready'), 4);
    t.equal(await store.queueSize('other'), 0, 'queues are separate');
    t.same(await store.queuePeek('ready', 2), [
      { member: 'd', score: -1.5 },
      { member: 'b', score: 1 },
    ]);
    t.equal(await store.queueSize('ready'), 4, 'peek removes nothing');
    t.same(await store.queuePeek('ready', 2, 1), [
      { member: 'b', score: 1 },
      { member: 'c', score: 2 },
    ], 'peek skips `offset` items');
    t.same(await store.queuePeek('ready', 5, 4), [], 'an offset past the end is empty');
    t.same(await store.queuePop('ready', 1), [{ member: 'd', score: -1.5 }]);
    await store.queuePush('ready', [{ member: 'a', score: 0 }]);
    t.same(await store.queuePeek('ready', 1), [{ member: 'a', score: 0 }], 'pushing a member again moves it');
    t.equal(await store.queueSize('ready'), 3, 'and does not duplicate it');
    t.equal(await store.queueRemove('ready', ['a', 'zz']), 1, 'counts what it removed');
    t.same(await store.queuePop('ready', 10), [
      { member: 'b', score: 1 },
      { member: 'c', score: 2 },
    ]);
    t.equal(await store.queueSize('ready'), 0);
  });

  t.test('queues: claim removes members at once and returns the ones this caller won', async (t) => {
    const { store } = await openStore(t, makeStore);
    await store.queuePush('ready', [
      { member: 'a', score: 1 },
      { member: 'b', score: 2 },
      { member: 'c', score: 3 },
    ]);
    t.same(await store.queueClaim('ready', []), []);
    t.same(await store.queueClaim('ready', ['c', 'zz', 'a', 'a']), ['c', 'a'], 'present members, in the order asked, each once');
    t.same(await store.queuePeek('ready', 10), [{ member: 'b', score: 2 }], 'they are gone from the queue');
    const [first, second] = await Promise.all([store.queueClaim('ready', ['b']), store.queueClaim('ready', ['b'])]);
    t.same([...(first ?? []), ...(second ?? [])], ['b'], 'two racing claims: exactly one wins');
    t.equal(await store.queueSize('ready'), 0);
  });

  t.test('queues: a range hands out 0…end-1 in order, once each, then leaves the queue', async (t) => {
    const { store } = await openStore(t, makeStore);
    await store.queuePush('ready', [{ member: 'single', score: 5 }]);
    t.equal(await store.queuePushRange('ready', 'job-a', 2), true);
    t.equal(await store.queuePushRange('ready', 'job-a', 9), false, 'a second push of the same range is a no-op');
    t.same(await store.queuePeek('ready', 10), [
      { member: 'job-a', score: 2 },
      { member: 'single', score: 5 },
    ], 'a range is one member, ordered by its score like any other');
    t.same(await store.queueTakeRange('ready', 'job-a', 10, 4), { from: 0, to: 4 });
    t.same(await store.queueTakeRange('ready', 'job-a', 10, 0), null, 'taking none takes nothing');
    t.same(await store.queueTakeRange('ready', 'job-a', 10, 4), { from: 4, to: 8 });
    t.same(await store.queuePeek('ready', 1), [{ member: 'job-a', score: 2 }], 'still queued while integers are left');
    t.same(await store.queueTakeRange('ready', 'job-a', 10, 4), { from: 8, to: 10 }, 'the last take stops at end');
    t.same(await store.queuePeek('ready', 10), [{ member: 'single', score: 5 }], 'a used-up range leaves the queue');
    t.same(await store.queueTakeRange('ready', 'job-a', 10, 4), null);
    t.equal(await store.queuePushRange('ready', 'job-a', 2), false, 'a used-up range is never handed out again');
    t.same(await store.queueTakeRange('ready', 'missing', 10, 4), null);

    await store.queuePushRange('ready', 'job-b', 1);
    const takes = await Promise.all(Array.from({ length: 8 }, () => store.queueTakeRange('ready', 'job-b', 20, 3)));
    const handedOut = takes.flatMap((range) => (range === null ? [] : Array.from({ length: range.to - range.from }, (_, i) => range.from + i)));
    t.same(handedOut.sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i), 'racing takes: every integer to exactly one caller');
  });

  t.test('queues: closing a range stops it and reports how far it got; forgetting drops the cursor', async (t) => {
    const { store } = await openStore(t, makeStore);
    t.equal(await store.queueCloseRange('ready', 'never'), null, 'never pushed');
    t.equal(await store.queuePushRange('ready', 'never', 1), false, 'and closing bars a later push');
    t.equal(await store.queueSize('ready'), 0);
    t.equal(await store.queueRangeCursor('ready', 'job-a'), null);
    await store.queuePushRange('ready', 'job-a', 1);
    t.equal(await store.queueRangeCursor('ready', 'job-a'), 0);
    await store.queueTakeRange('ready', 'job-a', 100, 30);
    t.equal(await store.queueRangeCursor('ready', 'job-a'), 30, 'the cursor is read without a change');
    t.equal(await store.queueSize('ready'), 1);
    t.equal(await store.queueCloseRange('ready', 'job-a'), 30, 'integers below the cursor were handed out');
    t.equal(await store.queueSize('ready'), 0, 'it left the queue');
    t.same(await store.queueTakeRange('ready', 'job-a', 100, 30), null, 'nothing more is handed out');
    t.equal(await store.queueCloseRange('ready', 'job-a'), 30, 'closing again answers the same');
    t.equal(await store.queuePushRange('ready', 'job-a', 1), false, 'a closed range is not pushed again');
    await store.queueForgetRange('ready', 'job-a');
    t.equal(await store.queueRangeCursor('ready', 'job-a'), null, 'forgotten');
    t.equal(await store.queuePushRange('ready', 'job-a', 1), true, 'and may be pushed anew');
    await store.queueForgetRange('ready', 'job-a');
    t.equal(await store.queueSize('ready'), 0, 'forgetting a queued range removes it');
  });

  t.test('leases: acquire, renew, release, monotonic tokens', async (t) => {
    const { store } = await openStore(t, makeStore);
    const before = await store.now();
    const a = await store.acquireLease('scheduler', 'a', 10_000);
    if (!a) throw new Error('lease not acquired');
    t.equal(a.owner, 'a');
    t.ok(a.token > 0);
    t.ok(a.expiresAt >= before + 10_000 && a.expiresAt <= before + 12_000, 'expires a TTL after the store clock');
    t.equal(await store.acquireLease('scheduler', 'b', 10_000), null, 'held by someone else');
    t.same(await store.readLease('scheduler'), a);
    t.equal(await store.readLease('nobody'), null);

    const renewed = await store.renewLease('scheduler', 'a', a.token, 20_000);
    t.equal(renewed?.token, a.token, 'renewal keeps the token');
    t.ok(renewed && renewed.expiresAt > a.expiresAt, 'and moves the expiry');
    t.same(await store.readLease('scheduler'), renewed);
    t.equal(await store.renewLease('scheduler', 'a', a.token + 1, 20_000), null, 'wrong token');
    t.equal(await store.renewLease('scheduler', 'b', a.token, 20_000), null, 'wrong owner');

    t.notOk(await store.releaseLease('scheduler', 'b', a.token), 'only the holder releases');
    t.notOk(await store.releaseLease('scheduler', 'a', a.token + 1));
    t.ok(await store.releaseLease('scheduler', 'a', a.token));
    t.equal(await store.readLease('scheduler'), null);
    t.equal(await store.renewLease('scheduler', 'a', a.token, 1_000), null, 'a released lease cannot be renewed');

    const b = await store.acquireLease('scheduler', 'b', 10_000);
    t.ok(b && b.token > a.token, 'the next owner gets a larger token');
    const again = await store.acquireLease('scheduler', 'b', 10_000);
    t.ok(again && b && again.token > b.token, 'the holder may acquire again, with a new token');
  });

  t.test('leases: expire, and the next token is still larger', async (t) => {
    const { store } = await openStore(t, makeStore);
    const a = await store.acquireLease(shardLeaseName(1), 'a', SHORT_TTL_MS);
    if (!a) throw new Error('lease not acquired');
    t.equal(await store.acquireLease(shardLeaseName(1), 'b', SHORT_TTL_MS), null);
    await sleep(PAST_SHORT_TTL_MS);
    t.equal(await store.readLease(shardLeaseName(1)), null, 'gone after its TTL');
    t.equal(await store.renewLease(shardLeaseName(1), 'a', a.token, 10_000), null, 'an expired lease cannot be renewed');
    const b = await store.acquireLease(shardLeaseName(1), 'b', 10_000);
    t.ok(b && b.token > a.token);
  });

  t.test('members: heartbeat, expiry, removal', async (t) => {
    const { store } = await openStore(t, makeStore);
    const now = await store.now();
    t.same(await store.listMembers('controllers'), []);
    await store.heartbeatMember('controllers', 'c1', { url: 'http://c1' }, 10_000);
    await store.heartbeatMember('controllers', 'c2', { url: 'http://c2' }, SHORT_TTL_MS);
    await store.heartbeatMember('agents', 'n1', null, 10_000);
    const listed = (await store.listMembers('controllers')).sort((x, y) => x.id.localeCompare(y.id));
    t.same(listed.map((m) => [m.id, m.info]), [['c1', { url: 'http://c1' }], ['c2', { url: 'http://c2' }]]);
    t.ok(listed.every((m) => m.expiresAt > now), 'expiry in the future');

    await sleep(PAST_SHORT_TTL_MS);
    t.same((await store.listMembers('controllers')).map((m) => m.id), ['c1'], 'expired members are gone');
    await store.heartbeatMember('controllers', 'c1', { url: 'http://c1:2' }, 10_000);
    t.same((await store.listMembers('controllers')).map((m) => m.info), [{ url: 'http://c1:2' }], 'heartbeat updates info');
    await store.removeMember('controllers', 'c1');
    await store.removeMember('controllers', 'never-there');
    t.same(await store.listMembers('controllers'), []);
    t.same((await store.listMembers('agents')).map((m) => m.id), ['n1'], 'groups are separate');
  });

  t.test('kv: get, set, versions, compare-and-set, delete', async (t) => {
    const { store } = await openStore(t, makeStore);
    t.equal(await store.kvGet('config'), null);
    t.same(await store.kvSet('config', { a: 1 }), { key: 'config', value: { a: 1 }, version: 1 });
    t.same(await store.kvGet('config'), { key: 'config', value: { a: 1 }, version: 1 });
    t.same(await store.kvSet('config', [1, 'two']), { key: 'config', value: [1, 'two'], version: 2 }, 'every write adds one');

    t.equal(await store.kvSet('config', 'x', { ifVersion: 0 }), null, 'ifVersion 0 needs the key absent');
    t.equal(await store.kvSet('config', 'x', { ifVersion: 1 }), null, 'stale version');
    t.same(await store.kvGet('config'), { key: 'config', value: [1, 'two'], version: 2 }, 'failed CAS writes nothing');
    t.same(await store.kvSet('config', 'x', { ifVersion: 2 }), { key: 'config', value: 'x', version: 3 });
    t.same(await store.kvSet('fresh', true, { ifVersion: 0 }), { key: 'fresh', value: true, version: 1 });
    t.equal(await store.kvSet('absent', 1, { ifVersion: 1 }), null, 'a version of an absent key never matches');

    t.ok(await store.kvDelete('config'));
    t.equal(await store.kvGet('config'), null);
    t.notOk(await store.kvDelete('config'), 'already gone');
    t.same(await store.kvSet('config', 0, { ifVersion: 0 }), { key: 'config', value: 0, version: 1 }, 'absent again after delete');
  });

  t.test('kv: ttl and listing by prefix', async (t) => {
    const { store } = await openStore(t, makeStore);
    for (const key of ['jobs/2', 'jobs/1', 'jobs/10', 'other/1']) await store.kvSet(key, { key });
    await store.kvSet('jobs/tmp', 'short-lived', { ttlMs: SHORT_TTL_MS });
    t.same(await store.kvGet('jobs/tmp'), { key: 'jobs/tmp', value: 'short-lived', version: 1 });

    t.same((await store.kvList('jobs/')).map((e) => e.key), ['jobs/1', 'jobs/10', 'jobs/2', 'jobs/tmp'], 'key order');
    t.same(await store.kvList('jobs/1'), [
      { key: 'jobs/1', value: { key: 'jobs/1' }, version: 1 },
      { key: 'jobs/10', value: { key: 'jobs/10' }, version: 1 },
    ]);
    t.same((await store.kvList('jobs/', 2)).map((e) => e.key), ['jobs/1', 'jobs/10'], 'limit');
    t.same(await store.kvList('nothing/'), []);

    await sleep(PAST_SHORT_TTL_MS);
    t.equal(await store.kvGet('jobs/tmp'), null, 'expired');
    t.same((await store.kvList('')).map((e) => e.key), ['jobs/1', 'jobs/10', 'jobs/2', 'other/1'], 'expired keys are not listed');
    t.same(await store.kvSet('jobs/tmp', 'again', { ifVersion: 0 }), { key: 'jobs/tmp', value: 'again', version: 1 }, 'an expired key is absent');
  });

  t.test('clock, kind and shard count', async (t) => {
    const { store } = await openStore(t, makeStore);
    const now = await store.now();
    t.ok(Math.abs(now - Date.now()) < 5_000, 'epoch ms');
    t.ok(store.kind === 'redis' || store.kind === 'embedded');
    t.ok(Number.isInteger(store.shardCount) && store.shardCount >= 4, 'the suite uses shards 0..3');
  });
}
