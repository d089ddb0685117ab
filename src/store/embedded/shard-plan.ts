import type { MailboxDelivery, OutboxRecord } from '../store.js';
import { isFenceStale } from './commit-plan.js';
import { planAppends } from './mailbox-plan.js';
import type { Mutation, Planned } from './mutations.js';
import type { StoreState } from './state.js';
import { copyJson } from './values.js';

/*
 * What a shard's owner changes outside its commits — acknowledging mailbox
 * entries, deleting relayed outbox records, firing due timers — each refused
 * when the caller's fencing token is stale, plus the reads that go with them.
 */

/** See `Store.ackMailbox`. */
export function planMailboxAck(state: StoreState, shard: number, fence: number, entryIds: readonly string[], now: number): Planned<boolean> {
  if (isFenceStale(state, shard, fence, now)) return { mutations: [], result: false };
  return { mutations: entryIds.length > 0 ? [{ t: 'mbAck', shard, entryIds: [...entryIds] }] : [], result: true };
}

/** See `Store.deleteOutbox`. */
export function planOutboxDelete(state: StoreState, shard: number, fence: number, outboxIds: readonly string[], now: number): Planned<boolean> {
  if (isFenceStale(state, shard, fence, now)) return { mutations: [], result: false };
  return { mutations: outboxIds.length > 0 ? [{ t: 'obDel', shard, outboxIds: [...outboxIds] }] : [], result: true };
}

/**
 * See `Store.fireDueTimers`: up to `limit` timers due at `dueBy` leave the
 * timer set and their messages enter the timer's own shard's mailbox (as the
 * Redis script does); `now` is the store's clock. Answers how many fired.
 */
export function planFireDueTimers(state: StoreState, shard: number, fence: number, dueBy: number, limit: number, now: number): Planned<number> {
  if (isFenceStale(state, shard, fence, now)) return { mutations: [], result: 0 };
  const due = (state.timers[shard]?.lowest(limit) ?? []).filter((timer) => timer.score <= dueBy);
  if (due.length === 0) return { mutations: [], result: 0 };
  const mutations: Mutation[] = [
    { t: 'timerDel', shard, timerIds: due.map((timer) => timer.member) },
    ...planAppends(state, due.map((timer) => ({ shard, message: timer.value })), now),
  ];
  return { mutations, result: due.length };
}

/** See `Store.reclaimMailbox`: every pending entry of `shard`, now pending for `consumer`. */
export function planReclaim(state: StoreState, shard: number, consumer: string): Planned<MailboxDelivery[]> {
  const pending = [...(state.mailboxes[shard]?.pending ?? [])];
  if (pending.length === 0) return { mutations: [], result: [] };
  return {
    mutations: [{ t: 'mbDeliver', shard, entryIds: pending.map(([entryId]) => entryId), consumer }],
    result: pending.map(([entryId, entry]) => ({ shard, entryId, message: copyJson(entry.message) })),
  };
}

/** See `Store.readOutbox`: copies, oldest first. */
export function outboxRecords(state: StoreState, shard: number, limit: number): OutboxRecord[] {
  const records: OutboxRecord[] = [];
  for (const [outboxId, item] of state.outboxes[shard]?.items ?? []) {
    if (records.length >= limit) break;
    records.push({ outboxId, item: copyJson(item) });
  }
  return records;
}

/** See `Store.nextTimerDue`: the earliest due time among `shards`, or null. */
export function earliestTimerDue(state: StoreState, shards: readonly number[]): number | null {
  let earliest: number | null = null;
  for (const shard of shards) {
    const first = state.timers[shard]?.first();
    if (first && (earliest === null || first.score < earliest)) earliest = first.score;
  }
  return earliest;
}
