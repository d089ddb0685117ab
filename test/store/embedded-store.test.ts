import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedStore, type EmbeddedStoreOptions } from '../../src/store/embedded/index.js';
import { shardLeaseName, type MailboxMessage, type Store } from '../../src/store/store.js';
import { storeConformance } from './conformance.js';

const SHARDS = 4;
const CHILD = fileURLToPath(new URL('../fixtures/embedded-store-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'computalot-embedded-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store in `dir` that the test closes on teardown (closing twice is fine). */
async function openStore(t: Test, dir: string, extra: Partial<EmbeddedStoreOptions> = {}): Promise<EmbeddedStore> {
  const store = await EmbeddedStore.open({ dataDir: dir, shardCount: SHARDS, ...extra });
  t.teardown(() => store.close());
  return store;
}

function message(shard: number, eventId: string, id = 'x'): MailboxMessage {
  return { eventId, shard, target: { kind: 'thing', id }, event: { type: 'poke', eventId } };
}

async function shardFence(store: Store, shard: number, owner = 'me'): Promise<number> {
  const lease = await store.acquireLease(shardLeaseName(shard), owner, 60_000);
  if (!lease) throw new Error('lease refused');
  return lease.token;
}

/** Starts the child fixture and collects its stdout lines. */
function startChild(args: string[]): { child: ChildProcess; lines: string[]; waitForLine: (match: (line: string) => boolean) => Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLine = (match: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found !== undefined) {
          listeners.delete(check);
          resolve(found);
        }
      };
      listeners.add(check);
      void exited.then(() => {
        check();
        if (listeners.has(check)) reject(new Error(`child exited before the expected line; stderr: ${stderr}`));
      });
      check();
    });
  return { child, lines, waitForLine, exited };
}

// ── conformance (the shared suite) ──────────────────────────────────────────

t.test('conformance', async (t) => {
  storeConformance(t, async () => {
    const dir = await tempDir(t);
    // The suite wants at least 6 shards.
    const open = () => EmbeddedStore.open({ dataDir: dir, shardCount: 8 });
    const store = await open();
    return {
      store,
      reopen: async () => {
        await store.close();
        return open();
      },
    };
  });
});

// ── semantics ───────────────────────────────────────────────────────────────

t.test('commit: CAS, fencing, duplicates, read models, event log', async (t) => {
  const store = await openStore(t, await tempDir(t));
  const ref = { kind: 'job', id: 'j1' };
  t.equal((await store.commit({ shard: 1, fence: 1, writes: [{ ref, expectedVersion: 0, snapshot: 1 }] })).ok, false, 'no lease: stale');
  const fence = await shardFence(store, 1);

  const created = await store.commit({
    shard: 1,
    fence,
    writes: [{ ref, expectedVersion: 0, snapshot: { s: 'a' }, readModel: { view: 1 }, log: [{ at: 5, type: 'created' }, { at: 6, type: 'queued', data: { q: 1 } }] }],
    appliedEventIds: ['e1'],
    outbox: [{ kind: 'effect', effectId: 'f1', effect: { x: 1 } }, { kind: 'message', message: message(2, 'm1') }],
  });
  t.ok(created.ok);
  t.equal(created.ok && created.outboxIds.length, 2);
  t.same(await store.loadEntities(1, [ref, { kind: 'job', id: 'nope' }]), [{ ref, version: 1, snapshot: { s: 'a' } }, null]);
  t.same(await store.readReadModels([{ shard: 1, ref }]), [{ view: 1 }]);
  t.same(await store.readEventLog(1, ref), [
    { seq: 1, at: 5, type: 'created' },
    { seq: 2, at: 6, type: 'queued', data: { q: 1 } },
  ]);
  t.same(await store.filterApplied(1, ['e1', 'e2']), new Set(['e1']));

  t.same(await store.commit({ shard: 1, fence, writes: [{ ref, expectedVersion: 0, snapshot: 2 }] }), { ok: false, reason: 'conflict', ref, actualVersion: 1 });
  t.same(await store.commit({ shard: 1, fence, writes: [{ ref, expectedVersion: 1, snapshot: 2 }], appliedEventIds: ['e1'] }), {
    ok: false,
    reason: 'duplicate',
    eventId: 'e1',
  });
  t.same(await store.commit({ shard: 1, fence: fence + 1, writes: [] }), { ok: false, reason: 'stale_fence' });

  const updated = await store.commit({ shard: 1, fence, writes: [{ ref, expectedVersion: 1, snapshot: 'b', readModel: null, log: [{ at: 7, type: 'x' }] }] });
  t.ok(updated.ok);
  t.same(await store.readReadModels([{ shard: 1, ref }]), [null], 'null deletes the read model');
  t.same(await store.readEventLog(1, ref, { afterSeq: 1, limit: 1 }), [{ seq: 2, at: 6, type: 'queued', data: { q: 1 } }]);
  t.same((await store.readEventLog(1, ref, { afterSeq: 2 })).map((r) => r.seq), [3]);

  const outbox = await store.readOutbox(1, 10);
  t.same(outbox.map((r) => r.item.kind), ['effect', 'message']);
  t.ok(await store.deleteOutbox(1, fence, [outbox[0]!.outboxId]));
  t.equal((await store.readOutbox(1, 10)).length, 1);
  t.notOk(await store.deleteOutbox(1, fence + 7, [outbox[1]!.outboxId]), 'stale fence refused');

  // Values handed out are copies.
  const [loaded] = await store.loadEntities(1, [ref]);
  (loaded as { snapshot: unknown }).snapshot = 'mutated';
  t.same((await store.loadEntities(1, [ref]))[0]?.snapshot, 'b');

  // A newer lease fences the old token off.
  await store.releaseLease(shardLeaseName(1), 'me', fence);
  const newer = await shardFence(store, 1, 'other');
  t.ok(newer > fence);
  t.same(await store.commit({ shard: 1, fence, writes: [] }), { ok: false, reason: 'stale_fence' });
  await t.rejects(store.commit({ shard: SHARDS, fence, writes: [] }), { code: 'STORE_INVALID_ARGUMENT' });
});

t.test('mailbox: read, pending, ack, reclaim, depth, blocking wake-up', async (t) => {
  const store = await openStore(t, await tempDir(t));
  const fence = await shardFence(store, 0);
  await store.appendMailbox([message(0, 'a'), message(1, 'b'), message(0, 'c')]);
  t.equal(await store.mailboxDepth(0), 2);
  const first = await store.readMailbox([0, 1], 'c1', { count: 2, blockMs: 0 });
  t.same(first.map((d) => d.message.eventId), ['a', 'b'], 'oldest first across shards');
  t.same(await store.readMailbox([0], 'c1', { count: 10, blockMs: 0 }).then((d) => d.map((x) => x.message.eventId)), ['c']);
  t.same(await store.readMailbox([0, 1], 'c1', { count: 10, blockMs: 0 }), [], 'delivered entries are not re-read');
  t.equal(await store.mailboxDepth(0), 2, 'pending still counts');

  const reclaimed = await store.reclaimMailbox(0, 'c2');
  t.same(reclaimed.map((d) => d.message.eventId), ['a', 'c']);
  t.notOk(await store.ackMailbox(0, fence + 1, [reclaimed[0]!.entryId]), 'stale fence');
  t.ok(await store.ackMailbox(0, fence, [reclaimed[0]!.entryId]));
  t.equal(await store.mailboxDepth(0), 1);
  // Acking in a commit.
  t.ok((await store.commit({ shard: 0, fence, writes: [], ack: [reclaimed[1]!.entryId] })).ok);
  t.equal(await store.mailboxDepth(0), 0);

  // A blocked reader wakes on append, long before its blockMs.
  const started = Date.now();
  const blocked = store.readMailbox([2, 3], 'c3', { count: 5, blockMs: 10_000 });
  setTimeout(() => void store.appendMailbox([message(3, 'late')]), 20);
  const woken = await blocked;
  t.same(woken.map((d) => d.message.eventId), ['late']);
  t.ok(Date.now() - started < 2_000, 'woken by the append, not the timeout');

  // Two blocked readers: one gets the message, the other times out empty.
  const r1 = store.readMailbox([2], 'r1', { count: 5, blockMs: 200 });
  const r2 = store.readMailbox([2], 'r2', { count: 5, blockMs: 200 });
  await store.appendMailbox([message(2, 'once')]);
  const got = [...(await r1), ...(await r2)];
  t.same(got.map((d) => d.message.eventId), ['once']);

  // Entry ids increase within a shard.
  await store.appendMailbox([message(1, 'x1'), message(1, 'x2'), message(1, 'x3')]);
  const ids = (await store.readMailbox([1], 'c', { count: 10, blockMs: 0 })).map((d) => d.entryId.split('-').map(Number));
  for (let i = 1; i < ids.length; i++) t.ok(ids[i]![0]! > ids[i - 1]![0]! || (ids[i]![0] === ids[i - 1]![0] && ids[i]![1]! > ids[i - 1]![1]!));
});

t.test('timers fire into the mailbox', async (t) => {
  const store = await openStore(t, await tempDir(t));
  const fence = await shardFence(store, 2);
  t.ok(
    (
      await store.commit({
        shard: 2,
        fence,
        writes: [],
        scheduleTimers: [
          { timerId: 't1', dueAt: 300, message: message(2, 'late') },
          { timerId: 't2', dueAt: 100, message: message(2, 'early') },
          { timerId: 't3', dueAt: 200, message: message(2, 'gone') },
        ],
      })
    ).ok,
  );
  t.ok((await store.commit({ shard: 2, fence, writes: [], cancelTimers: ['t3'] })).ok);
  t.equal(await store.nextTimerDue([0, 2]), 100);
  t.equal(await store.fireDueTimers(2, fence + 1, 1_000, 10), 0, 'stale fence fires nothing');
  t.equal(await store.fireDueTimers(2, fence, 250, 10), 1);
  t.equal(await store.nextTimerDue([2]), 300);
  t.equal(await store.fireDueTimers(2, fence, 1_000, 10), 1);
  t.equal(await store.nextTimerDue([2]), null);
  t.same((await store.readMailbox([2], 'c', { count: 10, blockMs: 0 })).map((d) => d.message.eventId), ['early', 'late']);
});

t.test('priority queues: lowest first, ties by insertion, O(log n) pops', async (t) => {
  const store = await openStore(t, await tempDir(t));
  await store.queuePush('q', [
    { member: 'z', score: 5 },
    { member: 'a', score: 5 },
    { member: 'm', score: 1 },
    { member: 'b', score: 9 },
  ]);
  t.equal(await store.queueSize('q'), 4);
  t.same(await store.queuePeek('q', 2), [
    { member: 'm', score: 1 },
    { member: 'z', score: 5 },
  ]);
  t.equal(await store.queueRemove('q', ['z', 'nope']), 1);
  await store.queuePush('q', [{ member: 'b', score: 0 }]);
  t.same(await store.queuePop('q', 3), [
    { member: 'b', score: 0 },
    { member: 'm', score: 1 },
    { member: 'a', score: 5 },
  ]);
  t.equal(await store.queueSize('q'), 0);
  t.same(await store.queuePop('q', 3), []);

  const n = 20_000;
  await store.queuePush('big', Array.from({ length: n }, (_, i) => ({ member: `m${i}`, score: (i * 7919) % n })));
  const started = performance.now();
  let previous = -1;
  for (let i = 0; i < 200; i++) {
    const [item] = await store.queuePop('big', 1);
    t.ok(item!.score >= previous);
    previous = item!.score;
  }
  t.comment(`200 pops from a ${n}-item queue: ${(performance.now() - started).toFixed(1)} ms`);
});

t.test('leases, members, KV', async (t) => {
  const store = await openStore(t, await tempDir(t));
  const a = await store.acquireLease('L', 'a', 60_000);
  t.equal(a?.token, 1);
  t.equal(await store.acquireLease('L', 'b', 60_000), null);
  t.equal((await store.renewLease('L', 'a', 1, 60_000))?.token, 1);
  t.equal(await store.renewLease('L', 'b', 1, 60_000), null);
  t.ok(await store.releaseLease('L', 'a', 1));
  t.equal(await store.readLease('L'), null);
  t.equal((await store.acquireLease('L', 'b', 30))?.token, 2);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(await store.readLease('L'), null, 'expired');
  t.equal((await store.acquireLease('L', 'c', 60_000))?.token, 3, 'taken over after expiry with a larger token');

  await store.heartbeatMember('ctl', 'x', { port: 1 }, 60_000);
  await store.heartbeatMember('ctl', 'y', null, 30);
  t.same((await store.listMembers('ctl')).map((m) => m.id).sort(), ['x', 'y']);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same((await store.listMembers('ctl')).map((m) => [m.id, m.info]), [['x', { port: 1 }]]);
  await store.removeMember('ctl', 'x');
  t.same(await store.listMembers('ctl'), []);

  t.same(await store.kvSet('k/1', { v: 1 }, { ifVersion: 0 }), { key: 'k/1', value: { v: 1 }, version: 1 });
  t.equal(await store.kvSet('k/1', 2, { ifVersion: 0 }), null);
  t.same(await store.kvSet('k/1', 2, { ifVersion: 1 }), { key: 'k/1', value: 2, version: 2 });
  await store.kvSet('k/0', 'zero');
  await store.kvSet('other', 1);
  await store.kvSet('k/ttl', 't', { ttlMs: 30 });
  t.same((await store.kvList('k/')).map((e) => e.key), ['k/0', 'k/1', 'k/ttl']);
  t.same((await store.kvList('k/', 1)).map((e) => e.key), ['k/0']);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(await store.kvGet('k/ttl'), null);
  t.equal((await store.kvSet('k/ttl', 'again', { ifVersion: 0 }))?.version, 1, 'an expired key counts as absent');
  t.ok(await store.kvDelete('k/0'));
  t.notOk(await store.kvDelete('k/0'));
  t.equal(await store.kvGet('k/0'), null);
});

// ── durability ──────────────────────────────────────────────────────────────

/** Everything observable through the API, for before/after comparisons. */
async function observe(store: Store): Promise<unknown> {
  // `populate` commits every entity into shard 0.
  const refs = Array.from({ length: 60 }, (_, i) => ({ kind: 'e', id: String(i) }));
  return {
    entities: await store.loadEntities(0, refs),
    readModels: await store.readReadModels(refs.map((ref) => ({ shard: 0, ref }))),
    logs: await Promise.all(refs.slice(0, 5).map((ref) => store.readEventLog(0, ref))),
    applied: await Promise.all([0, 1, 2, 3].map(async (s) => [...(await store.filterApplied(s, refs.map((r) => `ev-${r.id}`)))].sort())),
    depth: await Promise.all([0, 1, 2, 3].map((s) => store.mailboxDepth(s))),
    outbox: await Promise.all([0, 1, 2, 3].map((s) => store.readOutbox(s, 1000))),
    nextTimer: await store.nextTimerDue([0, 1, 2, 3]),
    queue: await store.queuePeek('q', 1000),
    lease: await store.readLease(shardLeaseName(0)),
    members: await store.listMembers('g'),
    kv: await store.kvList(''),
  };
}

async function populate(store: Store): Promise<void> {
  const fence = await shardFence(store, 0);
  for (let i = 0; i < 60; i++) {
    const ref = { kind: 'e', id: String(i) };
    const result = await store.commit({
      shard: 0,
      fence,
      writes: [{ ref, expectedVersion: 0, snapshot: { i, pad: 'p'.repeat(100) }, readModel: { i }, log: [{ at: i, type: 'made' }] }],
      appliedEventIds: [`ev-${i}`],
      outbox: i % 3 === 0 ? [{ kind: 'effect', effectId: `fx${i}`, effect: i }] : [],
      scheduleTimers: [{ timerId: `t${i}`, dueAt: 10_000 + i, message: message(0, `timer-${i}`) }],
    });
    if (!result.ok) throw new Error('commit refused');
    await store.queuePush('q', [{ member: `m${i}`, score: i % 7 }]);
    await store.kvSet(`kv/${i}`, { i });
  }
  await store.appendMailbox(Array.from({ length: 20 }, (_, i) => message(i % 4, `mb-${i}`)));
  await store.readMailbox([1], 'reader', { count: 3, blockMs: 0 });
  await store.queuePop('q', 5);
  await store.heartbeatMember('g', 'member', { up: true }, 600_000);
  await store.fireDueTimers(0, fence, 10_010, 5);
}

t.test('state survives close and reopen, with and without compaction', async (t) => {
  const configs: Partial<EmbeddedStoreOptions>[] = [{}, { compactAfterBytes: 4_096 }, { compactAfterBytes: 4_096, fsync: 'batch' }];
  for (const config of configs) {
    const { compactAfterBytes } = config;
    const dir = await tempDir(t);
    const store = await openStore(t, dir, config);
    await populate(store);
    const before = await observe(store);
    await store.close();
    const files = await readdir(dir);
    if (compactAfterBytes) {
      const wals = files.filter((f) => f.startsWith('wal-'));
      t.ok(wals.length <= 2, `old log files removed after compaction (${wals.join(', ')})`);
      t.notOk(wals.includes('wal-00000001.log'), 'the log was rotated');
    }
    const reopened = await openStore(t, dir);
    t.same(await observe(reopened), before, `same state after reopen (${JSON.stringify(config)})`);
    // Pending deliveries survive: the reclaim finds what 'reader' held.
    t.equal((await reopened.reclaimMailbox(1, 'next')).length, 3);
    await reopened.close();
    await t.rejects(reopened.kvGet('a'), { code: 'STORE_CLOSED' }, 'calls after close are refused');
  }
});

t.test('a torn final log line is discarded; damage elsewhere is refused', async (t) => {
  const dir = await tempDir(t);
  let store = await openStore(t, dir);
  await store.kvSet('a', 1);
  await store.kvSet('b', 2);
  await store.close();
  const wal = join(dir, 'wal-00000001.log');
  const intact = await readFile(wal);
  await appendFile(wal, '1234abcd {"s":3,"m":[{"t":"kvSet","key":"c","val');

  store = await openStore(t, dir);
  t.same((await store.kvList('')).map((e) => e.key), ['a', 'b']);
  await store.kvSet('d', 4);
  await store.close();
  store = await openStore(t, dir);
  t.same((await store.kvList('')).map((e) => e.key), ['a', 'b', 'd'], 'appends after the cut are clean');
  await store.close();

  // A damaged line followed by a good one is not a torn tail.
  const lines = intact.toString('utf8').split('\n');
  await writeFile(wal, `${lines[0]!.replace('"a"', '"A"')}\n${lines[1]}\n`);
  await t.rejects(EmbeddedStore.open({ dataDir: dir, shardCount: SHARDS }), { code: 'STORE_WAL_CORRUPT' });
  await t.rejects(EmbeddedStore.open({ dataDir: await tempDir(t), shardCount: 0 }), { code: 'STORE_INVALID_ARGUMENT' });
});

t.test('a data dir keeps its shard count', async (t) => {
  const dir = await tempDir(t);
  await (await openStore(t, dir)).close();
  await t.rejects(EmbeddedStore.open({ dataDir: dir, shardCount: SHARDS + 1 }), { code: 'STORE_SHARD_COUNT_MISMATCH' });
});

t.test('single controller: a second open is refused, a dead holder is taken over', async (t) => {
  const dir = await tempDir(t);
  const holder = startChild(['hold', dir]);
  t.teardown(() => void holder.child.kill('SIGKILL'));
  await holder.waitForLine((line) => line === 'ready');

  const refused = await EmbeddedStore.open({ dataDir: dir, shardCount: SHARDS }).then(
    () => null,
    (error: unknown) => error as { code: string; message: string },
  );
  t.equal(refused?.code, 'STORE_LOCKED');
  t.match(refused?.message, /refuses a second controller/);
  t.match(refused?.message, /Redis/);

  // Another process is refused just the same.
  const other = startChild(['open', dir]);
  t.equal(await other.waitForLine((line) => line.startsWith('error') || line === 'opened'), 'error STORE_LOCKED');

  // Killed holders leave their lock behind; the next open takes it over.
  holder.child.kill('SIGKILL');
  await holder.exited;
  t.match(await readFile(join(dir, 'store.lock'), 'utf8'), String(holder.child.pid));
  const store = await openStore(t, dir);
  t.equal((await readFile(join(dir, 'store.lock'), 'utf8')).trim(), String(process.pid));

  // This process is a live holder too.
  await t.rejects(EmbeddedStore.open({ dataDir: dir, shardCount: SHARDS }), { code: 'STORE_LOCKED' });
  await store.close();
  t.notOk(existsSync(join(dir, 'store.lock')), 'close releases the lock');

  // A lock naming a pid that is gone.
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => dead.on('exit', resolve));
  await writeFile(join(dir, 'store.lock'), `${dead.pid}\n`);
  const again = await openStore(t, dir);
  await again.close();
});

for (const fsync of ['always', 'batch'] as const) {
t.test(`kill -9 mid-run loses no acknowledged commit and leaves no partial one (fsync: ${fsync})`, async (t) => {
  const dir = await tempDir(t);
  // A small compaction threshold so snapshots and log rotations happen during the run too.
  const writer = startChild(['write', dir, '200000', fsync]);
  t.teardown(() => void writer.child.kill('SIGKILL'));
  await writer.waitForLine((line) => Number(line.split(' ')[1]) >= 1500);
  writer.child.kill('SIGKILL');
  await writer.exited;

  const acked = writer.lines.filter((line) => line.startsWith('ok ')).map((line) => line.split(' ').map(Number) as [number, number, number, number]);
  t.ok(acked.length >= 1500, `${acked.length} commits acknowledged before the kill`);
  const highest = Math.max(...acked.map(([, n]) => n));

  const store = await openStore(t, dir);
  const ids = Array.from({ length: highest + 200 }, (_, n) => n);
  const refs = ids.flatMap((n) => ['a', 'b', 'c'].map((prefix) => ({ kind: 'item', id: `${prefix}-${n}` })));
  // The child writer commits everything into shard 0.
  const entities = await store.loadEntities(0, refs);
  const applied = await store.filterApplied(0, ids.map((n) => `evt-${n}`));
  let missing = 0;
  let partial = 0;
  for (const n of ids) {
    const present = entities.slice(n * 3, n * 3 + 3).map((e) => e !== null);
    if (present.some(Boolean) && !present.every(Boolean)) partial++;
    if (present.every(Boolean) !== applied.has(`evt-${n}`)) partial++;
  }
  for (const [, n] of acked) {
    const [a, b, c] = entities.slice(n * 3, n * 3 + 3);
    if (!a || !b || !c || a.version !== 1 || (a.snapshot as { n: number }).n !== n || (c.snapshot as { prefix: string }).prefix !== 'c') missing++;
  }
  t.equal(missing, 0, 'every acknowledged commit is intact');
  t.equal(partial, 0, 'every commit is all there or all absent');
  const highestCounter = new Map<number, number>();
  for (const [, , w, version] of acked) highestCounter.set(w, Math.max(highestCounter.get(w) ?? 0, version));
  const counters = await store.loadEntities(0, [...highestCounter.keys()].map((w) => ({ kind: 'counter', id: `w${w}` })));
  t.ok(
    [...highestCounter.values()].every((version, i) => (counters[i]?.version ?? 0) >= version),
    'counters reached at least their acknowledged versions',
  );
  t.same(await store.readEventLog(0, { kind: 'item', id: `b-${acked[0]![1]}` }), [{ seq: 1, at: acked[0]![1], type: 'created', data: { n: acked[0]![1] } }]);
});
}

t.test('throughput (figures, not assertions)', async (t) => {
  const store = await openStore(t, await tempDir(t));
  const fence = await shardFence(store, 0);
  const n = 10_000;
  let started = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      store.commit({ shard: 0, fence, writes: [{ ref: { kind: 'c', id: String(i) }, expectedVersion: 0, snapshot: { i, pad: 'x'.repeat(200) } }], appliedEventIds: [`e${i}`] }),
    ),
  );
  let ms = performance.now() - started;
  t.ok(results.every((r) => r.ok));
  t.comment(`${n} concurrent single-entity commits: ${ms.toFixed(0)} ms (${Math.round((n / ms) * 1000)} commits/s)`);

  started = performance.now();
  const big = await store.commit({
    shard: 0,
    fence,
    writes: Array.from({ length: n }, (_, i) => ({ ref: { kind: 'big', id: String(i) }, expectedVersion: 0, snapshot: { i }, log: [{ at: i, type: 'made' }] })),
  });
  ms = performance.now() - started;
  t.ok(big.ok);
  t.comment(`one commit of ${n} entity writes: ${ms.toFixed(0)} ms`);

  started = performance.now();
  for (let i = 0; i < 200; i++) await store.kvSet('seq', i);
  ms = performance.now() - started;
  t.comment(`200 sequential kvSet (one fsync each): ${ms.toFixed(0)} ms (${(ms / 200).toFixed(2)} ms per durable write)`);
});
