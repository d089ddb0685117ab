import type { JsonValue } from '../../shared/json.js';
import type { EventLogRecord, Lease, MailboxMessage, OutboxItem, QueueItem } from '../store.js';

/**
 * The low-level changes the embedded store makes to its state. A store call
 * validates against memory, turns its request into a batch of these with every
 * clock read and generated id already resolved, and then both applies the
 * batch and appends it to the log. Replay applies the same batches in the same
 * order, so memory after a restart equals memory before it.
 */
export type Mutation =
  | { readonly t: 'entity'; readonly kind: string; readonly id: string; readonly version: number; readonly snapshot: JsonValue }
  /** `value: null` deletes the read model. */
  | { readonly t: 'readModel'; readonly kind: string; readonly id: string; readonly value: JsonValue | null }
  | { readonly t: 'purge'; readonly refs: readonly { readonly kind: string; readonly id: string }[] }
  | { readonly t: 'log'; readonly kind: string; readonly id: string; readonly records: readonly EventLogRecord[] }
  | { readonly t: 'applied'; readonly shard: number; readonly ids: readonly string[]; readonly at: number }
    /** Into `shard`'s mailbox — a timer's own shard, which `message.shard` normally equals. */
  | { readonly t: 'mbAppend'; readonly shard: number; readonly entryId: string; readonly message: MailboxMessage }
  /** Marks entries delivered to (pending for) `consumer`; also what reclaim logs. */
  | { readonly t: 'mbDeliver'; readonly shard: number; readonly entryIds: readonly string[]; readonly consumer: string }
  | { readonly t: 'mbAck'; readonly shard: number; readonly entryIds: readonly string[] }
  | { readonly t: 'obAdd'; readonly shard: number; readonly outboxId: string; readonly item: OutboxItem }
  | { readonly t: 'obDel'; readonly shard: number; readonly outboxIds: readonly string[] }
  | { readonly t: 'timerSet'; readonly shard: number; readonly timerId: string; readonly dueAt: number; readonly message: MailboxMessage }
  | { readonly t: 'timerDel'; readonly shard: number; readonly timerIds: readonly string[] }
  | { readonly t: 'qSet'; readonly queue: string; readonly items: readonly QueueItem[] }
  | { readonly t: 'qDel'; readonly queue: string; readonly members: readonly string[] }
  | { readonly t: 'leaseSet'; readonly name: string; readonly lease: Lease }
  | { readonly t: 'leaseDel'; readonly name: string }
  | { readonly t: 'memberSet'; readonly group: string; readonly id: string; readonly info: JsonValue; readonly expiresAt: number }
  | { readonly t: 'memberDel'; readonly group: string; readonly id: string }
  /** `expiresAt: null` means no TTL. */
  | { readonly t: 'kvSet'; readonly key: string; readonly value: JsonValue; readonly version: number; readonly expiresAt: number | null }
  | { readonly t: 'kvDel'; readonly key: string };

/** What one store call changes and answers; the store applies and logs `mutations` before answering. */
export interface Planned<T> {
  readonly mutations: Mutation[];
  readonly result: T;
}
