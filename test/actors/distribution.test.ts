/**
 * Distribution across real controller processes on one real redis-server:
 * exactly-once application through a `kill -9`, shard rebalancing to the
 * survivor and to a newcomer, and a durable timer that fires after the
 * controller that scheduled it was killed.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { actorKinds } from '../../src/actors/index.js';
import { ActorRouter, shardLeaseName } from '../../src/actors/runtime/index.js';
import type { Store } from '../../src/store/store.js';
import { counterKind } from '../fixtures/counter-kind.js';
import { startComputalotProcess, startTsProcess } from '../fixtures/controller-process.js';
import { makeRedisStore, randomPrefix, startRedisServer } from '../fixtures/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const SHARDS = 64;
const LEASE_TTL_MS = 1_500;
const COUNTER_CONTROLLER = fileURLToPath(new URL('../fixtures/controller-with-counter.ts', import.meta.url));

async function clusterConfig(dir: string, redisPath: string, prefix: string): Promise<string> {
  const file = join(dir, `cluster-${prefix}.yml`);
  await writeFile(
    file,
    [
      'store:',
      '  kind: redis',
      `  redis_path: ${redisPath}`,
      `  key_prefix: ${prefix}`,
      `shards: ${SHARDS}`,
      'controller:',
      '  http: { host: 127.0.0.1, port: 0 }',
      '  grpc: { host: 127.0.0.1, port: 0 }',
      `  lease_ttl_ms: ${LEASE_TTL_MS}`,
      '  heartbeat_interval_ms: 300',
      'log_level: warn',
      '',
    ].join('\n'),
  );
  return file;
}

/** Who holds each shard's lease right now (undefined = nobody). */
async function shardOwners(store: Store): Promise<(string | undefined)[]> {
  const leases = await Promise.all(Array.from({ length: SHARDS }, (_, s) => store.readLease(shardLeaseName(s))));
  return leases.map((lease) => lease?.owner);
}

function countByOwner(owners: (string | undefined)[]): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (const owner of owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

async function controllerIds(store: Store): Promise<string[]> {
  const now = await store.now();
  return (await store.listMembers('controllers')).filter((m) => m.expiresAt > now).map((m) => m.id);
}

t.test('kill -9 of a controller mid-run: every event applied exactly once, shards move, a newcomer gets its share', async (t) => {
  const redis = await startRedisServer(t);
  const dir = await mkdtemp(join(tmpdir(), 'computalot-dist-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const prefix = randomPrefix();
  const config = await clusterConfig(dir, redis.path, prefix);
  const store = await makeRedisStore(redis, { prefix, shardCount: SHARDS });
  t.teardown(() => store.close());
  const router = new ActorRouter([...actorKinds, counterKind], SHARDS);

  const a = await startTsProcess(t, COUNTER_CONTROLLER, [config], { COMPUTALOT_CONTROLLER_ID: 'ctl-a' });
  const b = await startTsProcess(t, COUNTER_CONTROLLER, [config], { COMPUTALOT_CONTROLLER_ID: 'ctl-b' });
  await waitFor('both controllers ready', async () => (await a.ready()) && (await b.ready()));
  const split = await waitFor('shards split 32/32', async () => {
    const counts = countByOwner(await shardOwners(store));
    return counts.size === 2 && [...counts.values()].every((n) => n === 32) && !counts.has(undefined) ? counts : undefined;
  });
  t.equal(split.size, 2, 'two owners, 32 shards each');

  const ids = Array.from({ length: 100 }, (_, i) => `entity-${i}`);
  await store.appendMailbox(ids.map((id) => router.message({ kind: 'counter', id }, { type: 'counter.open' }, `open-${id}`)));
  // 1,000 events: 10 per entity, each adding a distinct power of two so any
  // duplicate or loss changes the sum in a way a compensating error cannot hide.
  const events = ids.flatMap((id) => Array.from({ length: 10 }, (_, k) => router.message({ kind: 'counter', id }, { type: 'counter.add', n: 2 ** k }, `add-${id}-${k}`)));
  t.same((await controllerIds(store)).sort(), ['ctl-a', 'ctl-b']);
  const victimId = 'ctl-b';
  for (let i = 0; i < events.length; i += 50) {
    await store.appendMailbox(events.slice(i, i + 50));
    if (i === 400) {
      // Mid-stream, with events in flight: no lease release, no goodbye.
      await b.kill9();
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }

  const counts = await waitFor(
    'all 1,000 events applied',
    async () => {
      const models = (await store.readReadModels(ids.map((id) => ({ shard: router.shardOf({ kind: 'counter', id }), ref: { kind: 'counter', id } })))) as ({ count: number; adds: number } | null)[];
      return models.every((m) => m !== null && m.adds >= 10) ? models : undefined;
    },
    30_000,
  );
  t.ok(
    counts.every((m) => m?.count === 1023 && m.adds === 10),
    'each entity applied each of its 10 events exactly once (sum 1023, 10 adds)',
  );
  // Duplicates from replayed outboxes or reclaimed entries may still be in
  // flight; wait until mailboxes are empty and check nothing changed.
  await waitFor('mailboxes drained', async () => (await Promise.all(Array.from({ length: SHARDS }, (_, s) => store.mailboxDepth(s)))).every((d) => d === 0), 20_000);
  const after = (await store.readReadModels(ids.map((id) => ({ shard: router.shardOf({ kind: 'counter', id }), ref: { kind: 'counter', id } })))) as ({ count: number; adds: number } | null)[];
  t.ok(
    after.every((m) => m?.count === 1023 && m.adds === 10),
    'still exactly once after the mailboxes drained',
  );

  const survivorOwners = await waitFor('survivor owns all 64 shards', async () => {
    const owners = await shardOwners(store);
    const counts = countByOwner(owners);
    return counts.size === 1 && !counts.has(undefined) && !counts.has(victimId) ? owners : undefined;
  });
  t.equal(new Set(survivorOwners).size, 1, 'no shard unowned, none left with the dead controller');

  const c = await startTsProcess(t, COUNTER_CONTROLLER, [config], { COMPUTALOT_CONTROLLER_ID: 'ctl-c' });
  await waitFor('newcomer ready', () => c.ready());
  const rebalanced = await waitFor('newcomer received its share', async () => {
    const counts = countByOwner(await shardOwners(store));
    return counts.size === 2 && !counts.has(undefined) && [...counts.values()].every((n) => n === 32) ? counts : undefined;
  });
  t.equal(rebalanced.size, 2, 'survivor and newcomer hold 32 shards each');

  // The rebalanced cluster still applies events exactly once.
  await store.appendMailbox(ids.map((id) => router.message({ kind: 'counter', id }, { type: 'counter.add', n: 1024 }, `late-${id}`)));
  const late = await waitFor('late events applied', async () => {
    const models = (await store.readReadModels(ids.map((id) => ({ shard: router.shardOf({ kind: 'counter', id }), ref: { kind: 'counter', id } })))) as ({ count: number } | null)[];
    return models.every((m) => m?.count === 2047) ? models : undefined;
  });
  t.equal(late.length, 100);
});

t.test('a durable timer fires after the controller that scheduled it was killed', async (t) => {
  const redis = await startRedisServer(t);
  const dir = await mkdtemp(join(tmpdir(), 'computalot-timer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const prefix = randomPrefix();
  const config = await clusterConfig(dir, redis.path, prefix);
  const store = await makeRedisStore(redis, { prefix, shardCount: SHARDS });
  t.teardown(() => store.close());
  const router = new ActorRouter(actorKinds, SHARDS);
  const account = { kind: 'account', id: 'acct_timer' };
  const located = { shard: router.shardOf(account), ref: account };

  const first = await startComputalotProcess(t, ['controller', '--config', config]);
  await waitFor('controller ready', () => first.ready());
  await store.appendMailbox([
    router.message(account, { type: 'account.open', label: 'timer test' }, 'open'),
    router.message(account, { type: 'account.credit', amountMicros: 10_000_000, reason: 'grant', reference: 'grant-1' }, 'grant'),
    router.message(account, { type: 'account.place_hold', holdId: 'hold_1', jobId: 'job_x', amountMicros: 4_000_000, expiresAt: Date.now() + 2_500 }, 'hold'),
  ]);
  const held = await waitFor('hold active', async () => {
    const [model] = (await store.readReadModels([located])) as ({ held_usd: number; available_usd: number } | null)[];
    return model?.held_usd === 4 ? model : undefined;
  });
  t.equal(held.available_usd, 6);
  await first.kill9();

  const second = await startComputalotProcess(t, ['controller', '--config', config]);
  const released = await waitFor(
    'hold released by its expiry timer',
    async () => {
      const [model] = (await store.readReadModels([located])) as ({ held_usd: number; available_usd: number; active_hold_count: number } | null)[];
      return model?.held_usd === 0 ? model : undefined;
    },
    20_000,
  );
  t.equal(released.available_usd, 10, 'the expired hold gave the funds back');
  t.equal(released.active_hold_count, 0);
  t.ok(await second.ready(), 'the second controller is serving');
});
