import t, { type Test } from 'tap';
import { pino } from 'pino';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControllerNode, type ControllerNodeOptions, type ExternalEffect } from '../../src/actors/runtime/index.js';
import { shardLeaseName, type CommitRequest, type EntityRef, type Store } from '../../src/store/store.js';
import type { JsonObject } from '../../src/shared/json.js';
import { EmbeddedStore } from '../../src/store/index.js';
import { startRedisServer, makeRedisStore } from '../fixtures/redis-server.js';
import { counterKind } from '../fixtures/counter-kind.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SHARDS = 16;
const ALL_SHARDS = Array.from({ length: SHARDS }, (_, i) => i);

interface Counter {
  count: number;
  adds: number;
  reminded: number;
  state: unknown;
}

function node(store: Store, extra: Partial<ControllerNodeOptions> = {}): ControllerNode {
  return new ControllerNode({ store, kinds: [counterKind], logger, leaseTtlMs: 1_500, heartbeatIntervalMs: 200, outboxSweepIntervalMs: 200, ...extra });
}

async function counters(n: ControllerNode, ids: string[]): Promise<(Counter | null)[]> {
  return (await n.readModels(ids.map((id) => ({ kind: 'counter', id })))) as unknown as (Counter | null)[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The real store, plus a second writer that — once armed — commits to
 * `target` right before the runtime's next commit touching it, exactly the
 * race CAS exists for. Everything else passes straight through.
 */
function withConcurrentWriter(store: Store, target: EntityRef, mutate: (context: JsonObject) => JsonObject): Store & { armed: boolean; raced: number } {
  const state = { armed: false, raced: 0 };
  const commit = async (request: CommitRequest) => {
    if (state.armed && request.writes.some((w) => w.ref.kind === target.kind && w.ref.id === target.id)) {
      state.armed = false;
      const [current] = await store.loadEntities(request.shard, [target]);
      const lease = await store.readLease(shardLeaseName(request.shard));
      if (!current || !lease) throw new Error('race set-up failed');
      const snapshot = current.snapshot as JsonObject & { context: JsonObject };
      const won = await store.commit({ shard: request.shard, fence: lease.token, writes: [{ ref: target, expectedVersion: current.version, snapshot: { ...snapshot, context: mutate(snapshot.context) } }] });
      if (won.ok) state.raced++;
    }
    return store.commit(request);
  };
  return new Proxy(store, {
    get(obj, prop, receiver) {
      if (prop === 'commit') return commit;
      if (prop === 'armed' || prop === 'raced') return state[prop];
      const value: unknown = Reflect.get(obj, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
    },
    set(_obj, prop, value) {
      if (prop === 'armed') state.armed = Boolean(value);
      return true;
    },
  }) as Store & { armed: boolean; raced: number };
}

/** `store`, counting its `loadEntities` calls in `loads`. */
function countingLoads(store: Store): Store & { readonly loads: number } {
  let loads = 0;
  return new Proxy(store, {
    get(obj, prop, receiver) {
      if (prop === 'loads') return loads;
      if (prop === 'loadEntities') return (...args: Parameters<Store['loadEntities']>) => (loads++, obj.loadEntities(...args));
      const value: unknown = Reflect.get(obj, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
    },
  }) as Store & { readonly loads: number };
}

/** `store`, recording every commit request into `commits`. */
function recordingCommits(store: Store, commits: CommitRequest[]): Store {
  return new Proxy(store, {
    get(obj, prop, receiver) {
      if (prop === 'commit') {
        return (request: CommitRequest) => {
          commits.push(request);
          return obj.commit(request);
        };
      }
      const value: unknown = Reflect.get(obj, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
    },
  });
}

/** The behaviour every store must give the runtime; run once per store. */
function runtimeBehaviour(t: Test, makeStore: () => Promise<Store>) {
  t.test('events apply once each, in order, across many entities', async (t) => {
    const store = await makeStore();
    const n = node(store);
    await n.start();
    t.teardown(() => n.stop());
    const ids = Array.from({ length: 50 }, (_, i) => `c${i}`);
    await n.send(ids.map((id) => n.message({ kind: 'counter', id }, { type: 'counter.open' }, `open-${id}`)));
    const adds = ids.flatMap((id) => Array.from({ length: 20 }, (_, k) => n.message({ kind: 'counter', id }, { type: 'counter.add', n: k + 1 }, `add-${id}-${k}`)));
    await n.send(adds);
    // The same events again: redelivery must be harmless.
    await n.send(adds.slice(0, 200));
    const all = await waitFor('all counters at 210', async () => {
      const models = await counters(n, ids);
      return models.every((m) => m?.count === 210) ? models : undefined;
    });
    t.equal(all.length, 50);
    await waitFor('mailboxes drained', async () => (await Promise.all(ALL_SHARDS.map((s) => store.mailboxDepth(s)))).every((d) => d === 0));
    const after = await counters(n, ids);
    t.ok(after.every((m) => m?.adds === 20 && m.count === 210), 'duplicates were not applied');
    const c0 = { kind: 'counter', id: 'c0' };
    const log = await store.readEventLog(n.router.shardOf(c0), c0);
    t.same(
      log.map((l) => l.type),
      ['counter.open'],
      'the log records the one state change (creation)',
    );
    t.equal(n.ownedShards().length, SHARDS, 'a lone controller owns every shard');
    t.equal(n.readiness().ready, true);
  });

  t.test('events to a missing entity are dropped, not retried forever', async (t) => {
    const store = await makeStore();
    const n = node(store);
    await n.start();
    t.teardown(() => n.stop());
    await n.send([n.message({ kind: 'counter', id: 'ghost' }, { type: 'counter.add', n: 1 })]);
    await n.send([n.message({ kind: 'counter', id: 'real' }, { type: 'counter.open' })]);
    await waitFor('real counter', async () => (await counters(n, ['real']))[0] ?? undefined);
    const shard = n.router.shardOf({ kind: 'counter', id: 'ghost' });
    await waitFor('mailbox drained', async () => (await store.mailboxDepth(shard)) === 0);
    t.same(await counters(n, ['ghost']), [null]);
  });

  t.test('sends reach other entities; effects run with stable ids', async (t) => {
    const store = await makeStore();
    const seen: ExternalEffect[] = [];
    const n = node(store, { effectHandlers: new Map([['test.notify', async (e: ExternalEffect) => void seen.push(e)]]) });
    await n.start();
    t.teardown(() => n.stop());
    await n.send(['a', 'b', 'c'].map((id) => n.message({ kind: 'counter', id }, { type: 'counter.open' }, `open-${id}`)));
    await n.send([n.message({ kind: 'counter', id: 'a' }, { type: 'counter.forward', to: 'b', n: 5 }, 'fwd-1')]);
    await n.send([n.message({ kind: 'counter', id: 'a' }, { type: 'counter.forward', to: 'c', n: 7 }, 'fwd-2')]);
    await waitFor('forwarded adds', async () => {
      const [, b, c] = await counters(n, ['a', 'b', 'c']);
      return b?.count === 5 && c?.count === 7;
    });
    await n.send([n.message({ kind: 'counter', id: 'b' }, { type: 'counter.notify', note: 'hi' }, 'notify-1')]);
    await waitFor('effect ran', () => seen.length === 1);
    t.equal(seen[0]?.kind, 'test.notify');
    t.same(seen[0]?.data, { note: 'hi', count: 5 });
    t.same(seen[0]?.source, { kind: 'counter', id: 'b' });
    t.equal(seen[0]?.effectId, 'notify-1/0', 'effect id derives from the causing event');
  });

  t.test('a failing effect stays in the outbox and is retried', async (t) => {
    const store = await makeStore();
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new Error('receiver down');
    };
    const n = node(store, { effectHandlers: new Map([['test.notify', flaky]]) });
    await n.start();
    t.teardown(() => n.stop());
    await n.send([n.message({ kind: 'counter', id: 'x' }, { type: 'counter.open' })]);
    await n.send([n.message({ kind: 'counter', id: 'x' }, { type: 'counter.notify', note: 'retry me' })]);
    await waitFor('third call succeeded', () => calls >= 3);
    const shard = n.router.shardOf({ kind: 'counter', id: 'x' });
    await waitFor('outbox empty', async () => (await store.readOutbox(shard, 10)).length === 0);
    t.equal(calls, 3);
  });

  t.test('a failed effect in a batch is retried without running its siblings again', async (t) => {
    const store = await makeStore();
    const calls = { good: 0, bad: 0 };
    const handler = async (effect: ExternalEffect) => {
      const note = (effect.data as JsonObject).note as 'good' | 'bad';
      calls[note]++;
      if (note === 'bad' && calls.bad < 3) throw new Error('receiver down');
    };
    const n = node(store, { effectHandlers: new Map([['test.notify', handler]]) });
    await n.start();
    t.teardown(() => n.stop());
    const ref = { kind: 'counter', id: 'pair' };
    await n.send([n.message(ref, { type: 'counter.open' }), n.message(ref, { type: 'counter.notify', note: 'good' }), n.message(ref, { type: 'counter.notify', note: 'bad' })]);
    await waitFor('bad effect succeeded', () => calls.bad >= 3);
    await waitFor('outbox empty', async () => (await store.readOutbox(n.router.shardOf(ref), 10)).length === 0);
    t.same(calls, { good: 1, bad: 3 });
  });

  t.test('applyNow commits on owned shards without the mailbox, once per event', async (t) => {
    const store = await makeStore();
    const n = node(store);
    await n.start();
    t.teardown(() => n.stop());
    await waitFor('all shards owned', () => n.ownedShards().length === SHARDS);
    const ids = Array.from({ length: 40 }, (_, i) => `direct${i}`);
    const events = ids.flatMap((id) => [
      n.message({ kind: 'counter', id }, { type: 'counter.open' }, `open-${id}`),
      n.message({ kind: 'counter', id }, { type: 'counter.add', n: 3 }, `add-${id}`),
      n.message({ kind: 'counter', id }, { type: 'counter.forward', to: 'sink', n: 1 }, `fwd-${id}`),
    ]);
    await n.send([n.message({ kind: 'counter', id: 'sink' }, { type: 'counter.open' }, 'open-sink')]);
    await waitFor('sink', async () => (await counters(n, ['sink']))[0] ?? undefined);
    await n.applyNow(events);
    const applied = await counters(n, ids);
    t.ok(applied.every((c) => c?.count === 3 && c.adds === 1), 'committed when applyNow resolves');
    await n.applyNow(events.slice(0, 30));
    t.ok((await counters(n, ids)).every((c) => c?.count === 3 && c.adds === 1), 'applying the same events again changes nothing');
    await waitFor('forwards arrived', async () => (await counters(n, ['sink']))[0]?.count === ids.length);
    t.equal((await counters(n, ['sink']))[0]?.adds, ids.length, 'the messages it declared were relayed once each');

  t.test('sends to entities of the same shard apply in the same commit; a longer chain goes on through the mailbox', async (t) => {
    const commits: CommitRequest[] = [];
    const store = recordingCommits(await makeStore(), commits);
    const n = node(store);
    await n.start();
    t.teardown(() => n.stop());
    await waitFor('all shards owned', () => n.ownedShards().length === SHARDS);
    // Six counters on one shard: a chain through them is six steps, one hop each.
    const shard = n.router.shardOf({ kind: 'counter', id: 'hop0' });
    const path: string[] = [];
    for (let i = 0; path.length < 6; i++) if (n.router.shardOf({ kind: 'counter', id: `hop${i}` }) === shard) path.push(`hop${i}`);
    await n.applyNow(path.map((id) => n.message({ kind: 'counter', id }, { type: 'counter.open' }, `open-${id}`)));
    commits.length = 0;
    const [first, ...rest] = path as [string, ...string[]];
    await n.applyNow([n.message({ kind: 'counter', id: first }, { type: 'counter.chain', path: rest, n: 5 }, 'chain')]);
    t.same(
      commits[0]?.writes.map((write) => write.ref.id),
      path.slice(0, 4),
      'the first four hops (the round limit) were committed with the first step, before any mailbox round trip',
    );
    await waitFor('the rest of the chain', async () => (await counters(n, path)).every((c) => c?.count === 5));
    t.same(
      (await counters(n, path)).map((c) => c?.adds),
      [1, 1, 1, 1, 1, 1],
      'every hop applied once',
    );
    t.same(
      commits.flatMap((commit) => (commit.send ?? []).map((message) => message.target.id)),
      [path[4]],
      'only the hop past the round limit went through the mailbox',
    );
    t.same(commits[0]?.appliedEventIds, ['chain'], 'hops inside a commit never sat in a mailbox: no applied ids for them');
  });
  });

  t.test('applyNow sends to the mailbox what this node does not own', async (t) => {
    const store = await makeStore();
    const idle = node(store);
    const m = idle.message({ kind: 'counter', id: 'elsewhere' }, { type: 'counter.open' }, 'open-elsewhere');
    await idle.applyNow([m]);
    t.equal(await store.mailboxDepth(m.shard), 1, 'queued for the owner');
    const owner = node(store);
    await owner.start();
    t.teardown(() => owner.stop());
    await waitFor('applied by the owner', async () => (await counters(owner, ['elsewhere']))[0]?.count === 0);
  });

  t.test('applyNow falls back to the mailbox when its direct commit fails', async (t) => {
    const store = await makeStore();
    let failures = 1;
    const flaky = new Proxy(store, {
      get(obj, prop, receiver) {
        if (prop === 'commit') {
          return async (request: CommitRequest) => {
            if (failures > 0 && request.writes.some((w) => w.ref.id === 'bumpy')) {
              failures--;
              throw new Error('store hiccup');
            }
            return obj.commit(request);
          };
        }
        const value: unknown = Reflect.get(obj, prop, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(obj) : value;
      },
    });
    const n = node(flaky);
    await n.start();
    t.teardown(() => n.stop());
    await waitFor('all shards owned', () => n.ownedShards().length === SHARDS);
    const ref = { kind: 'counter', id: 'bumpy' };
    await n.applyNow([n.message(ref, { type: 'counter.open' }, 'open-bumpy'), n.message(ref, { type: 'counter.add', n: 2 }, 'add-bumpy')]);
    t.equal(failures, 0, 'the direct commit failed');
    await waitFor('applied through the mailbox', async () => (await counters(n, ['bumpy']))[0]?.count === 2);
    t.equal((await counters(n, ['bumpy']))[0]?.adds, 1, 'once');
  });

  t.test('a derived read model is not stored, and is worked out when read', async (t) => {
    const store = await makeStore();
    const derivedKind = { ...counterKind, kind: 'dcounter', readModelStorage: 'derived' as const };
    const n = node(store, { kinds: [counterKind, derivedKind] });
    await n.start();
    t.teardown(() => n.stop());
    const ref = { kind: 'dcounter', id: 'd1' };
    await n.send([n.message(ref, { type: 'counter.open' }), n.message(ref, { type: 'counter.add', n: 4 })]);
    await waitFor('derived view', async () => ((await n.readModels([ref]))[0] as Counter | null)?.count === 4);
    t.same(await store.readReadModels([{ shard: n.router.shardOf(ref), ref }]), [null], 'nothing stored beside the snapshot');
    const [stored, derived, missing] = (await n.readModels([{ kind: 'counter', id: 'none' }, ref, { kind: 'dcounter', id: 'none' }])) as (Counter | null)[];
    t.same([stored, derived?.count, missing], [null, 4, null], 'mixed kinds answer in order');
  });

  t.test('a commit that loses a CAS race reloads and applies on top of the winner', async (t) => {
    const store = await makeStore();
    const target = { kind: 'counter', id: 'raced' };
    const racing = withConcurrentWriter(store, target, (context) => ({ ...context, count: (context.count as number) + 100 }));
    const n = node(racing);
    await n.start();
    t.teardown(() => n.stop());
    await n.send([n.message(target, { type: 'counter.open' })]);
    await waitFor('opened', async () => (await counters(n, ['raced']))[0] ?? undefined);
    racing.armed = true;
    await n.send([n.message(target, { type: 'counter.add', n: 1 })]);
    const [model] = await waitFor('add applied', async () => {
      const models = await counters(n, ['raced']);
      return models[0]?.adds === 1 ? models : undefined;
    });
    t.equal(racing.raced, 1, 'a concurrent writer won the first commit');
    t.equal(model?.count, 101, "the loser reloaded and applied its event on top of the winner's write");
  });

  t.test('an entity this node committed is not loaded again for its next commit', async (t) => {
    const store = await makeStore();
    const counting = countingLoads(store);
    const target = { kind: 'counter', id: 'reused' };
    const n = node(counting);
    await n.start();
    t.teardown(() => n.stop());
    await n.applyNow([n.message(target, { type: 'counter.open' })]);
    const before = counting.loads;
    await n.applyNow([n.message(target, { type: 'counter.add', n: 5 })]);
    t.equal(counting.loads, before, 'the commit started from the snapshot this node wrote');
    t.equal((await counters(n, ['reused']))[0]?.count, 5);
  });

  t.test('a creating event is not preceded by a load, and one that meets an existing entity applies to it', async (t) => {
    const store = await makeStore();
    const counting = countingLoads(store);
    const creating = { ...counterKind, createEvent: 'counter.open' };
    const target = { kind: 'counter', id: 'created' };
    const first = node(counting, { kinds: [creating] });
    await first.start();
    await first.applyNow([first.message(target, { type: 'counter.open' }, 'open-1'), first.message(target, { type: 'counter.add', n: 5 }, 'add-1')]);
    t.equal(counting.loads, 0, 'a new entity created without looking it up');
    await first.stop();

    // Another controller, whose cache never saw the entity: `counter.open` is assumed to create it, the
    // commit's version check says it exists, and the retry loads it and applies the event to it.
    const second = node(counting, { kinds: [creating] });
    await second.start();
    t.teardown(() => second.stop());
    await second.applyNow([second.message(target, { type: 'counter.open' }, 'open-2'), second.message(target, { type: 'counter.add', n: 2 }, 'add-2')]);
    t.ok(counting.loads >= 1, 'the retry loaded the existing entity');
    const [model] = await counters(second, ['created']);
    t.equal(model?.count, 7, 'the existing counter went on from 5: not created over');
    t.equal(model?.adds, 2);
  });

  t.test('a snapshot this node cached is never written over another writer\'s newer one', async (t) => {
    const store = await makeStore();
    const target = { kind: 'counter', id: 'cached' };
    const n = node(store);
    await n.start();
    t.teardown(() => n.stop());
    await n.send([n.message(target, { type: 'counter.open' }), n.message(target, { type: 'counter.add', n: 1 })]);
    await waitFor('first add applied', async () => ((await counters(n, ['cached']))[0]?.adds === 1 ? true : undefined));
    // Another writer (a controller that held the shard meanwhile) commits after this node cached the entity.
    const shard = n.router.shardOf(target);
    const [current] = await store.loadEntities(shard, [target]);
    const lease = await store.readLease(shardLeaseName(shard));
    if (!current || !lease) throw new Error('set-up failed');
    const snapshot = current.snapshot as JsonObject & { context: JsonObject };
    const outside = await store.commit({ shard, fence: lease.token, writes: [{ ref: target, expectedVersion: current.version, snapshot: { ...snapshot, context: { ...snapshot.context, count: (snapshot.context.count as number) + 100 } } }] });
    t.ok(outside.ok);
    await n.applyNow([n.message(target, { type: 'counter.add', n: 1 })]);
    const [model] = await counters(n, ['cached']);
    t.equal(model?.count, 102, 'the stale cached version lost the commit; the reload applied the add on top of the outside write');
    t.equal(model?.adds, 2);
  });

  t.test('a controller whose lease was taken cannot commit, drops the shard, and the event is applied once later', async (t) => {
    const store = await makeStore();
    // Slow renewals: the controller only learns of the loss from its rejected commit.
    const n = node(store, { leaseTtlMs: 20_000, heartbeatIntervalMs: 2_000 });
    await n.start();
    t.teardown(() => n.stop());
    const target = { kind: 'counter', id: 'fenced' };
    await n.send([n.message(target, { type: 'counter.open' })]);
    await waitFor('opened', async () => (await counters(n, ['fenced']))[0] ?? undefined);
    const shard = n.router.shardOf(target);
    const name = shardLeaseName(shard);
    const held = await store.readLease(name);
    t.ok(held && (await store.releaseLease(name, held.owner, held.token)));
    const intruder = await store.acquireLease(name, 'intruder', 20_000);
    t.ok(intruder && held && intruder.token > held.token, 'the intruder holds a newer fencing token');
    await n.send([n.message(target, { type: 'counter.add', n: 1 })]);
    await waitFor('controller dropped the shard', () => !n.ownedShards().includes(shard));
    t.equal((await counters(n, ['fenced']))[0]?.count, 0, 'the stale commit was rejected');
    await store.releaseLease(name, 'intruder', intruder?.token ?? 0);
    const [model] = await waitFor(
      'shard re-acquired and event applied',
      async () => {
        const models = await counters(n, ['fenced']);
        return models[0]?.count === 1 ? models : undefined;
      },
      10_000,
    );
    t.equal(model?.adds, 1, 'applied exactly once after the shard came back');
  });

  t.test('durable timers fire, can be cancelled, and survive a controller restart', async (t) => {
    const store = await makeStore();
    const first = node(store);
    await first.start();
    await first.send(['t1', 't2'].map((id) => first.message({ kind: 'counter', id }, { type: 'counter.open' })));
    await first.send([
      first.message({ kind: 'counter', id: 't1' }, { type: 'counter.remind', delayMs: 1_200 }),
      first.message({ kind: 'counter', id: 't2' }, { type: 'counter.remind', delayMs: 1_200 }),
    ]);
    await first.send([first.message({ kind: 'counter', id: 't2' }, { type: 'counter.forget' })]);
    await waitFor('timer scheduled', async () => (await store.nextTimerDue(ALL_SHARDS)) !== null);
    await first.stop();
    const second = node(store);
    await second.start();
    t.teardown(() => second.stop());
    const [t1] = await waitFor('timer fired after restart', async () => {
      const models = await counters(second, ['t1']);
      return models[0]?.reminded === 1 ? models : undefined;
    });
    t.equal(t1?.reminded, 1);
    await pause(1_500);
    const [, t2] = await counters(second, ['t1', 't2']);
    t.equal(t2?.reminded, 0, 'cancelled timer never fired');
  });
}

t.test('embedded store', async (t) => {
  const dirs: string[] = [];
  let open: Store | undefined;
  t.teardown(async () => {
    await open?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  runtimeBehaviour(t, async () => {
    await open?.close();
    const dir = await mkdtemp(join(tmpdir(), 'computalot-runtime-'));
    dirs.push(dir);
    const store = await EmbeddedStore.open({ dataDir: dir, shardCount: SHARDS });
    open = store;
    return store;
  });
});

t.test('redis store', async (t) => {
  const redis = await startRedisServer(t);
  runtimeBehaviour(t, async () => {
    const store = await makeRedisStore(redis, { shardCount: SHARDS });
    t.teardown(() => store.close());
    return store;
  });
});
