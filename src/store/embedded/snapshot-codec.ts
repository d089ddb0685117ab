import type { JsonValue } from '../../shared/json.js';
import type { EventLogRecord, Lease, MailboxMessage, OutboxItem } from '../store.js';
import { StoreState } from './state.js';
import { formatStreamId, parseStreamId } from './stream-id.js';

/** Bumped when the layout below changes incompatibly. */
export const SNAPSHOT_FORMAT = 1;

/** Where a snapshot sits in the log: replay resumes after `lastSeq`, from file `walGen`. */
export interface SnapshotPosition {
  /** Sequence number of the last log batch the snapshot includes. */
  readonly lastSeq: number;
  /** First log generation that may hold batches after `lastSeq`. */
  readonly walGen: number;
}

/**
 * The on-disk form of `StoreState`: plain arrays of tuples, compact and in the
 * iteration order that carries meaning (mailboxes, outboxes, applied ids).
 * Expired KV entries, members and leases are left out: they are already
 * absent to every reader.
 */
export interface SnapshotDocument extends SnapshotPosition {
  readonly format: number;
  readonly shardCount: number;
  readonly takenAt: number;
  readonly orderSeq: number;
  readonly entities: [kind: string, id: string, version: number, snapshot: JsonValue, readModel: JsonValue | null, log: EventLogRecord[]][];
  readonly applied: [shard: number, ids: [eventId: string, at: number][]][];
  readonly mailboxes: [shard: number, lastId: string, waiting: [string, MailboxMessage][], pending: [string, MailboxMessage, string][]][];
  readonly outboxes: [shard: number, lastId: string, items: [string, OutboxItem][]][];
  readonly timers: [shard: number, timers: [timerId: string, dueAt: number, seq: number, message: MailboxMessage][]][];
  readonly queues: [name: string, items: [member: string, score: number, seq: number][]][];
  readonly leases: [name: string, maxToken: number, lease: Lease | null][];
  readonly members: [group: string, members: [id: string, info: JsonValue, expiresAt: number][]][];
  readonly kv: [key: string, value: JsonValue, version: number, expiresAt: number | null][];
}

export function encodeSnapshot(state: StoreState, position: SnapshotPosition, now: number): SnapshotDocument {
  const entities: SnapshotDocument['entities'] = [];
  for (const [key, record] of state.entities) {
    const split = key.indexOf('\u0000');
    entities.push([key.slice(0, split), key.slice(split + 1), record.version, record.snapshot, record.readModel ?? null, record.log]);
  }
  const leases: SnapshotDocument['leases'] = [];
  for (const [name, maxToken] of state.leaseTokens) {
    const lease = state.leases.get(name);
    leases.push([name, maxToken, lease && lease.expiresAt > now ? lease : null]);
  }
  const members: SnapshotDocument['members'] = [];
  for (const [group, byId] of state.members) {
    const live = [...byId].filter(([, m]) => m.expiresAt > now).map(([id, m]): [string, JsonValue, number] => [id, m.info, m.expiresAt]);
    if (live.length > 0) members.push([group, live]);
  }
  const kv: SnapshotDocument['kv'] = [];
  for (const [key, entry] of state.kv) {
    if (entry.expiresAt === null || entry.expiresAt > now) kv.push([key, entry.value, entry.version, entry.expiresAt]);
  }
  return {
    format: SNAPSHOT_FORMAT,
    shardCount: state.shardCount,
    lastSeq: position.lastSeq,
    walGen: position.walGen,
    takenAt: now,
    orderSeq: state.orderSeq,
    entities,
    applied: state.applied.map((ids, shard) => [shard, [...ids]]),
    mailboxes: state.mailboxes.map((mailbox, shard) => [
      shard,
      formatStreamId(mailbox.lastId),
      [...mailbox.waiting],
      [...mailbox.pending].map(([entryId, entry]): [string, MailboxMessage, string] => [entryId, entry.message, entry.consumer]),
    ]),
    outboxes: state.outboxes.map((outbox, shard) => [shard, formatStreamId(outbox.lastId), [...outbox.items]]),
    timers: state.timers.map((timers, shard) => [
      shard,
      [...timers.entries()].map((t): [string, number, number, MailboxMessage] => [t.member, t.score, t.seq, t.value]),
    ]),
    queues: [...state.queues].map(([name, queue]) => [name, [...queue.entries()].map((q): [string, number, number] => [q.member, q.score, q.seq])]),
    leases,
    members,
    kv,
  };
}

/** Rebuilds the state a snapshot describes; the document is consumed, not copied. */
export function decodeSnapshot(doc: SnapshotDocument): StoreState {
  const state = new StoreState(doc.shardCount);
  state.orderSeq = doc.orderSeq;
  for (const [kind, id, version, snapshot, readModel, log] of doc.entities) {
    const record = state.entity(kind, id);
    record.version = version;
    record.snapshot = snapshot;
    record.readModel = readModel ?? undefined;
    record.log.push(...log);
  }
  for (const [shard, ids] of doc.applied) {
    const applied = state.applied[shard];
    for (const [eventId, at] of ids) applied?.set(eventId, at);
  }
  for (const [shard, lastId, waiting, pending] of doc.mailboxes) {
    const mailbox = state.mailboxes[shard];
    if (!mailbox) continue;
    mailbox.lastId = parseStreamId(lastId);
    for (const [entryId, message] of waiting) mailbox.waiting.set(entryId, message);
    for (const [entryId, message, consumer] of pending) mailbox.pending.set(entryId, { message, consumer });
  }
  for (const [shard, lastId, items] of doc.outboxes) {
    const outbox = state.outboxes[shard];
    if (!outbox) continue;
    outbox.lastId = parseStreamId(lastId);
    for (const [outboxId, item] of items) outbox.items.set(outboxId, item);
  }
  for (const [shard, timers] of doc.timers) {
    for (const [timerId, dueAt, seq, message] of timers) state.timers[shard]?.set(timerId, dueAt, seq, message);
  }
  for (const [name, items] of doc.queues) {
    const queue = state.queue(name);
    for (const [member, score, seq] of items) queue.set(member, score, seq, null);
  }
  for (const [name, maxToken, lease] of doc.leases) {
    state.leaseTokens.set(name, maxToken);
    if (lease) state.leases.set(name, lease);
  }
  for (const [group, members] of doc.members) {
    state.members.set(group, new Map(members.map(([id, info, expiresAt]) => [id, { info, expiresAt }])));
  }
  for (const [key, value, version, expiresAt] of doc.kv) state.kv.set(key, { value, version, expiresAt });
  return state;
}
