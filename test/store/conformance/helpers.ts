import type { Test } from 'tap';
import { shardLeaseName, type EntityRef, type MailboxMessage, type Store } from '../../../src/store/store.js';
import type { JsonValue } from '../../../src/shared/json.js';

/** What a store implementation hands the conformance suite. */
export interface ConformanceSubject {
  readonly store: Store;
  /**
   * Closes `store` and opens the same data again (a process restart). When
   * given, the suite checks that committed state survives it.
   */
  readonly reopen?: () => Promise<Store>;
}

export type MakeStore = () => Promise<ConformanceSubject>;

/** A fresh, empty store for one subtest, closed at the subtest's end. */
export async function openStore(t: Test, makeStore: MakeStore): Promise<ConformanceSubject> {
  const subject = await makeStore();
  t.teardown(() => subject.store.close());
  return subject;
}

export function ref(id: string, kind = 'thing'): EntityRef {
  return { kind, id };
}

export function message(shard: number, eventId: string, target: EntityRef = ref('target'), event: JsonValue = { type: 'ping', eventId }): MailboxMessage {
  return { eventId, target, shard, event };
}

/** Takes the lease of `shard` (long TTL) and returns its fencing token. */
export async function ownShard(t: Test, store: Store, shard: number, owner = 'controller-a'): Promise<number> {
  const lease = await store.acquireLease(shardLeaseName(shard), owner, 60_000);
  if (!lease) throw new Error(`shard:${shard} lease is held by someone else`);
  t.ok(lease.token > 0, 'fencing tokens are positive');
  return lease.token;
}

/** Creates `refs` on `shard` with snapshot `{ id }` and fails the test if the commit does not succeed. */
export async function createEntities(t: Test, store: Store, shard: number, fence: number, refs: readonly EntityRef[]): Promise<void> {
  const result = await store.commit({ shard, fence, writes: refs.map((r) => ({ ref: r, expectedVersion: 0, snapshot: { id: r.id } })) });
  t.same(result, { ok: true, outboxIds: [] }, `created ${refs.map((r) => r.id).join(', ')}`);
}

/** Real expiry needs real time; used only where a TTL must run out. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Short TTL for expiry tests, and a wait safely past it. */
export const SHORT_TTL_MS = 200;
export const PAST_SHORT_TTL_MS = 400;
