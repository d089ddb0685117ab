import type { QueueItem } from '../store.js';
import type { Planned } from './mutations.js';
import type { StoreState } from './state.js';

/** See `Store.queuePush`. */
export function planQueuePush(queue: string, items: readonly QueueItem[]): Planned<void> {
  return { mutations: items.length === 0 ? [] : [{ t: 'qSet', queue, items: items.map(({ member, score }) => ({ member, score })) }], result: undefined };
}

/** See `Store.queuePop`: the lowest `count`, removed. */
export function planQueuePop(state: StoreState, queue: string, count: number): Planned<QueueItem[]> {
  const items = queueLowest(state, queue, count);
  return { mutations: items.length === 0 ? [] : [{ t: 'qDel', queue, members: items.map((item) => item.member) }], result: items };
}

/**
 * Removes the given members; answers those that were there (each once).
 * `Store.queueRemove` counts them, `Store.queueClaim` returns them.
 */
export function planQueueDelete(state: StoreState, queue: string, members: readonly string[]): Planned<string[]> {
  const set = state.queues.get(queue);
  const present = [...new Set(members)].filter((member) => set?.get(member) !== undefined);
  return { mutations: present.length === 0 ? [] : [{ t: 'qDel', queue, members: present }], result: present };
}

/** The `count` lowest-scored items of a queue, as copies. */
export function queueLowest(state: StoreState, queue: string, count: number): QueueItem[] {
  const set = state.queues.get(queue);
  if (!set || count <= 0) return [];
  return set.lowest(count).map(({ member, score }) => ({ member, score }));
}
