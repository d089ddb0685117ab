/**
 * Ids of mailbox and outbox entries, shaped like Redis stream ids
 * (`<ms>-<seq>`) so both stores hand out ids that look and order alike:
 * increasing within a shard even when the clock stalls or steps back.
 */
export interface StreamId {
  readonly ms: number;
  readonly seq: number;
}

export const ZERO_STREAM_ID: StreamId = { ms: 0, seq: 0 };

/** The id after `last` at wall-clock time `now`. */
export function nextStreamId(last: StreamId, now: number): StreamId {
  return now > last.ms ? { ms: now, seq: 0 } : { ms: last.ms, seq: last.seq + 1 };
}

export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

export function parseStreamId(text: string): StreamId {
  const dash = text.indexOf('-');
  return { ms: Number(text.slice(0, dash)), seq: Number(text.slice(dash + 1)) };
}

export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

/** The larger of two ids. */
export function maxStreamId(a: StreamId, b: StreamId): StreamId {
  return compareStreamIds(a, b) >= 0 ? a : b;
}
