import type { MailboxDelivery, MailboxMessage } from '../store.js';
import type { Mutation } from './mutations.js';
import type { StoreState } from './state.js';
import { compareStreamIds, formatStreamId, nextStreamId, parseStreamId, type StreamId } from './stream-id.js';

/**
 * Appends to mailboxes, each with the next entry id of its shard at `now`.
 * Ids continue from the state's last id, so persist one plan before making
 * the next.
 */
export function planAppends(state: StoreState, entries: readonly { shard: number; message: MailboxMessage }[], now: number): Mutation[] {
  const lastIds = new Map<number, StreamId>();
  return entries.map(({ shard, message }): Mutation => {
    const id = nextStreamId(lastIds.get(shard) ?? state.mailboxes[shard]!.lastId, now);
    lastIds.set(shard, id);
    return { t: 'mbAppend', shard, entryId: formatStreamId(id), message };
  });
}

/** A delivery decided on, and the mutations that mark it pending. */
export interface DeliveryPlan {
  readonly mutations: Mutation[];
  /** Share the state's message objects: copy before handing them out. */
  readonly deliveries: MailboxDelivery[];
}

/**
 * Up to `count` never-delivered entries of `shards` for `consumer`, oldest
 * first across shards (by entry id, as the Redis store sorts them).
 */
export function planDelivery(state: StoreState, shards: readonly number[], consumer: string, count: number): DeliveryPlan {
  let candidates: { shard: number; entryId: string; id: StreamId; message: MailboxMessage }[] = [];
  for (const shard of new Set(shards)) {
    let taken = 0;
    for (const [entryId, message] of state.mailboxes[shard]?.waiting ?? []) {
      if (taken++ >= count) break;
      candidates.push({ shard, entryId, id: parseStreamId(entryId), message });
    }
  }
  if (candidates.length === 0) return { mutations: [], deliveries: [] };
  if (shards.length > 1) candidates = candidates.sort((a, b) => compareStreamIds(a.id, b.id) || a.shard - b.shard).slice(0, count);
  const byShard = new Map<number, string[]>();
  for (const { shard, entryId } of candidates) {
    const ids = byShard.get(shard) ?? [];
    ids.push(entryId);
    byShard.set(shard, ids);
  }
  return {
    mutations: [...byShard].map(([shard, entryIds]): Mutation => ({ t: 'mbDeliver', shard, entryIds, consumer })),
    deliveries: candidates.map(({ shard, entryId, message }) => ({ shard, entryId, message })),
  };
}
