import type { MailboxMessage, OutboxItem } from '../store.js';
import { ZERO_STREAM_ID, maxStreamId, parseStreamId, type StreamId } from './stream-id.js';

/** A delivered, unacknowledged mailbox entry. */
export interface PendingEntry {
  readonly message: MailboxMessage;
  consumer: string;
}

/**
 * One shard's mailbox: the embedded counterpart of a Redis stream with one
 * consumer group. Both maps iterate in insertion order, which is entry-id
 * order, so "oldest first" is a walk from the front and every change is O(1).
 */
export class ShardMailbox {
  lastId: StreamId = ZERO_STREAM_ID;
  /** Appended, never delivered. */
  readonly waiting = new Map<string, MailboxMessage>();
  /** Delivered and not yet acknowledged, with who holds them. */
  readonly pending = new Map<string, PendingEntry>();

  append(entryId: string, message: MailboxMessage): void {
    this.lastId = maxStreamId(this.lastId, parseStreamId(entryId));
    this.waiting.set(entryId, message);
  }

  /** Moves waiting entries to pending, or hands pending ones to a new consumer (reclaim). */
  deliver(entryIds: readonly string[], consumer: string): void {
    for (const entryId of entryIds) {
      const fresh = this.waiting.get(entryId);
      if (fresh !== undefined) {
        this.waiting.delete(entryId);
        this.pending.set(entryId, { message: fresh, consumer });
        continue;
      }
      const held = this.pending.get(entryId);
      if (held) held.consumer = consumer;
    }
  }

  /** Acknowledged entries leave the mailbox; like XACK, only delivered (pending) ones can be. */
  ack(entryIds: readonly string[]): void {
    for (const entryId of entryIds) this.pending.delete(entryId);
  }

  get depth(): number {
    return this.waiting.size + this.pending.size;
  }
}

/** One shard's outbox: items in id order until the owner deletes them. */
export class ShardOutbox {
  lastId: StreamId = ZERO_STREAM_ID;
  readonly items = new Map<string, OutboxItem>();

  add(outboxId: string, item: OutboxItem): void {
    this.lastId = maxStreamId(this.lastId, parseStreamId(outboxId));
    this.items.set(outboxId, item);
  }
}
