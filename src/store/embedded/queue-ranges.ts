import type { Mutation } from './mutations.js';
import type { Planned } from './mutations.js';
import type { StoreState } from './state.js';

/**
 * Range cursors live in a scored set of their own beside the queue (member →
 * next integer, as the score), so they reuse the queue mutations, the log and
 * the snapshot format. `\u0000` cannot occur in a queue name a caller builds.
 */
function cursorSet(queue: string): string {
  return `${queue}\u0000range-cursors`;
}

function cursorOf(state: StoreState, queue: string, member: string): number | undefined {
  return state.queues.get(cursorSet(queue))?.get(member)?.score;
}

/** See `Store.queuePushRange`. */
export function planRangePush(state: StoreState, queue: string, member: string, score: number): Planned<boolean> {
  if (cursorOf(state, queue, member) !== undefined) return { mutations: [], result: false };
  return {
    mutations: [
      { t: 'qSet', queue: cursorSet(queue), items: [{ member, score: 0 }] },
      { t: 'qSet', queue, items: [{ member, score }] },
    ],
    result: true,
  };
}

/** See `Store.queueTakeRange`. */
export function planRangeTake(state: StoreState, queue: string, member: string, end: number, max: number): Planned<{ from: number; to: number } | null> {
  if (max <= 0 || state.queues.get(queue)?.get(member) === undefined) return { mutations: [], result: null };
  const from = cursorOf(state, queue, member) ?? 0;
  const to = Math.min(end, from + max);
  const mutations: Mutation[] = [{ t: 'qSet', queue: cursorSet(queue), items: [{ member, score: to }] }];
  if (to >= end) mutations.push({ t: 'qDel', queue, members: [member] });
  return { mutations, result: { from, to } };
}

/** See `Store.queueCloseRange`. */
export function planRangeClose(state: StoreState, queue: string, member: string): Planned<number | null> {
  const cursor = cursorOf(state, queue, member);
  const mutations: Mutation[] = [];
  if (state.queues.get(queue)?.get(member) !== undefined) mutations.push({ t: 'qDel', queue, members: [member] });
  // Never pushed: a cursor at 0 bars a later push (a release racing a cancel).
  if (cursor === undefined) mutations.push({ t: 'qSet', queue: cursorSet(queue), items: [{ member, score: 0 }] });
  return { mutations, result: cursor ?? null };
}

/** See `Store.queueRangeCursor`. */
export function rangeCursor(state: StoreState, queue: string, member: string): number | null {
  return cursorOf(state, queue, member) ?? null;
}

/** See `Store.queueForgetRange`. */
export function planRangeForget(state: StoreState, queue: string, member: string): Planned<void> {
  const mutations: Mutation[] = [];
  if (state.queues.get(queue)?.get(member) !== undefined) mutations.push({ t: 'qDel', queue, members: [member] });
  if (cursorOf(state, queue, member) !== undefined) mutations.push({ t: 'qDel', queue: cursorSet(queue), members: [member] });
  return { mutations, result: undefined };
}
