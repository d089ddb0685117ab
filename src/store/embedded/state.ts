import type { JsonValue } from '../../shared/json.js';
import type { EventLogRecord, Lease, MailboxMessage } from '../store.js';
import type { Mutation } from './mutations.js';
import { ScoredSet } from './scored-set.js';
import { ShardMailbox, ShardOutbox } from './shard-queues.js';

/** How long applied event ids are remembered for duplicate detection. */
export const APPLIED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** Everything the store knows about one entity. */
export interface EntityRecord {
  /** 0 until the first commit creates the entity. */
  version: number;
  snapshot: JsonValue;
  /** Absent when the entity keeps no public view. */
  readModel: JsonValue | undefined;
  readonly log: EventLogRecord[];
}

export interface KvRecord {
  readonly value: JsonValue;
  readonly version: number;
  /** Epoch ms, or null for no TTL. */
  readonly expiresAt: number | null;
}

export interface MemberEntry {
  readonly info: JsonValue;
  readonly expiresAt: number;
}

/** Map key of an entity; NUL cannot appear in a kind written by the runtime. */
export function entityKey(kind: string, id: string): string {
  return `${kind}\u0000${id}`;
}

/**
 * The embedded store's whole state, in memory. It changes only through
 * `apply`, which never reads the clock and never fails on a batch the store
 * built, so live calls and log replay reach the same state.
 *
 * Values held here are private copies (parsed from the log line), never
 * objects a caller still holds; readers must copy before handing them out.
 */
export class StoreState {
  readonly entities = new Map<string, EntityRecord>();
  /** Per shard: event id → when it was applied, in application order. */
  readonly applied: Map<string, number>[];
  readonly mailboxes: ShardMailbox[];
  readonly outboxes: ShardOutbox[];
  /** Per shard: timer id → due time, carrying the message to deliver. */
  readonly timers: ScoredSet<MailboxMessage>[];
  readonly queues = new Map<string, ScoredSet<null>>();
  readonly leases = new Map<string, Lease>();
  /** Highest fencing token ever issued per lease name; survives release and expiry. */
  readonly leaseTokens = new Map<string, number>();
  readonly members = new Map<string, Map<string, MemberEntry>>();
  readonly kv = new Map<string, KvRecord>();
  /** Insertion counter shared by every scored set: ties go to the earlier insert. */
  orderSeq = 0;

  constructor(readonly shardCount: number) {
    this.applied = Array.from({ length: shardCount }, () => new Map<string, number>());
    this.mailboxes = Array.from({ length: shardCount }, () => new ShardMailbox());
    this.outboxes = Array.from({ length: shardCount }, () => new ShardOutbox());
    this.timers = Array.from({ length: shardCount }, () => new ScoredSet<MailboxMessage>());
  }

  entity(kind: string, id: string): EntityRecord {
    const key = entityKey(kind, id);
    let record = this.entities.get(key);
    if (!record) {
      record = { version: 0, snapshot: null, readModel: undefined, log: [] };
      this.entities.set(key, record);
    }
    return record;
  }

  queue(name: string): ScoredSet<null> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new ScoredSet<null>();
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Whether `eventId` was applied on `shard` within the retention window before `now`. */
  wasApplied(shard: number, eventId: string, now: number): boolean {
    const at = this.applied[shard]?.get(eventId);
    return at !== undefined && at > now - APPLIED_RETENTION_MS;
  }

  apply(mutation: Mutation): void {
    switch (mutation.t) {
      case 'entity': {
        const record = this.entity(mutation.kind, mutation.id);
        record.version = mutation.version;
        record.snapshot = mutation.snapshot;
        return;
      }
      case 'readModel':
        this.entity(mutation.kind, mutation.id).readModel = mutation.value === null ? undefined : mutation.value;
        return;
      case 'purge':
        for (const ref of mutation.refs) this.entities.delete(entityKey(ref.kind, ref.id));
        return;
      case 'log':
        this.entity(mutation.kind, mutation.id).log.push(...mutation.records);
        return;
      case 'applied':
        this.recordApplied(mutation.shard, mutation.ids, mutation.at);
        return;
      case 'mbAppend':
        this.mailboxes[mutation.shard]?.append(mutation.entryId, mutation.message);
        return;
      case 'mbDeliver':
        this.mailboxes[mutation.shard]?.deliver(mutation.entryIds, mutation.consumer);
        return;
      case 'mbAck':
        this.mailboxes[mutation.shard]?.ack(mutation.entryIds);
        return;
      case 'obAdd':
        this.outboxes[mutation.shard]?.add(mutation.outboxId, mutation.item);
        return;
      case 'obDel': {
        const outbox = this.outboxes[mutation.shard];
        for (const id of mutation.outboxIds) outbox?.items.delete(id);
        return;
      }
      case 'timerSet':
        this.timers[mutation.shard]?.set(mutation.timerId, mutation.dueAt, ++this.orderSeq, mutation.message);
        return;
      case 'timerDel': {
        const timers = this.timers[mutation.shard];
        for (const id of mutation.timerIds) timers?.delete(id);
        return;
      }
      case 'qSet': {
        const queue = this.queue(mutation.queue);
        for (const item of mutation.items) {
          // Re-pushing with the same score keeps the member's place, like ZADD.
          if (queue.get(item.member)?.score !== item.score) queue.set(item.member, item.score, ++this.orderSeq, null);
        }
        return;
      }
      case 'qDel': {
        const queue = this.queues.get(mutation.queue);
        if (!queue) return;
        for (const member of mutation.members) queue.delete(member);
        if (queue.size === 0) this.queues.delete(mutation.queue);
        return;
      }
      case 'leaseSet':
        this.leases.set(mutation.name, mutation.lease);
        this.leaseTokens.set(mutation.name, Math.max(this.leaseTokens.get(mutation.name) ?? 0, mutation.lease.token));
        return;
      case 'leaseDel':
        this.leases.delete(mutation.name);
        return;
      case 'memberSet': {
        let group = this.members.get(mutation.group);
        if (!group) {
          group = new Map();
          this.members.set(mutation.group, group);
        }
        group.set(mutation.id, { info: mutation.info, expiresAt: mutation.expiresAt });
        return;
      }
      case 'memberDel': {
        const group = this.members.get(mutation.group);
        group?.delete(mutation.id);
        if (group?.size === 0) this.members.delete(mutation.group);
        return;
      }
      case 'kvSet':
        this.kv.set(mutation.key, { value: mutation.value, version: mutation.version, expiresAt: mutation.expiresAt });
        return;
      case 'kvDel':
        this.kv.delete(mutation.key);
        return;
    }
  }

  private recordApplied(shard: number, ids: readonly string[], at: number): void {
    const applied = this.applied[shard];
    if (!applied) return;
    for (const id of ids) {
      // Re-inserting moves the id to the back, keeping the map in time order.
      applied.delete(id);
      applied.set(id, at);
    }
    // Map order is application order, so expired ids are all at the front.
    const horizon = at - APPLIED_RETENTION_MS;
    for (const [id, appliedAt] of applied) {
      if (appliedAt > horizon) break;
      applied.delete(id);
    }
  }
}
