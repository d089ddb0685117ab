import type { JsonValue } from '../shared/json.js';

/**
 * The narrow storage contract everything above it is written against
 * (ARCHITECTURE.md §4). Two implementations: `RedisStore` (production, many
 * controllers) and `EmbeddedStore` (one process, durable on disk). Both pass
 * the same conformance suite in `test/store/`.
 *
 * Every entity lives in exactly one shard, chosen by the caller's routing; the
 * store keeps no map of its own and is told the shard on every write and read.
 * All writes to a shard's data that come from the shard's owner are *fenced*:
 * they carry the fencing token of the owner's shard lease (`shardLeaseName`)
 * and are rejected when a newer lease exists, so a controller that lost its
 * lease can never commit again.
 */

/** Entity kinds the actor runtime persists. Free-form so tests may add their own. */
export type EntityKind = string;

export interface EntityRef {
  readonly kind: EntityKind;
  readonly id: string;
}

/**
 * An entity together with the shard it lives in. The runtime's routing
 * (`ActorRouter.shardOf`) decides an entity's shard, not the store, so readers
 * that may span shards name it per entity.
 */
export interface LocatedRef {
  readonly shard: number;
  readonly ref: EntityRef;
}

/**
 * Name of the lease whose fencing token guards a shard's writes: every fenced
 * call on `shard` (`commit`, `ackMailbox`, `deleteOutbox`, `fireDueTimers`)
 * checks its `fence` against this lease. Owners acquire it under this name;
 * stores read it under this name, so both sides must build it here.
 */
export function shardLeaseName(shard: number): string {
  return `shard:${shard}`;
}

/** A persisted entity: its snapshot and the version the next CAS must name. */
export interface StoredEntity {
  readonly ref: EntityRef;
  /** Starts at 1 on creation and grows by one on every commit. */
  readonly version: number;
  readonly snapshot: JsonValue;
}

/** An event addressed to an entity; the unit a mailbox carries. */
export interface MailboxMessage {
  /** Globally unique; applying the same id twice to an entity is a no-op. */
  readonly eventId: string;
  readonly target: EntityRef;
  /** Shard of `target`; the sender computes it with the runtime's routing. */
  readonly shard: number;
  readonly event: JsonValue;
}

/** A message handed out by `readMailbox`, to be acknowledged after commit. */
export interface MailboxDelivery {
  readonly shard: number;
  /** Store-assigned, increasing within a shard; what `ack` names. */
  readonly entryId: string;
  readonly message: MailboxMessage;
}

/** A line of an entity's event history (what `GET /jobs/:id/events` reads). */
export interface EventLogEntry {
  readonly at: number;
  readonly type: string;
  readonly data?: JsonValue;
}

export interface EventLogRecord extends EventLogEntry {
  /** Store-assigned, increasing per entity. */
  readonly seq: number;
}

/** One entity's part of a commit. */
export interface EntityWrite {
  readonly ref: EntityRef;
  /** 0 means "must not exist yet" (creation). */
  readonly expectedVersion: number;
  readonly snapshot: JsonValue;
  /** Public view kept beside the snapshot; `null` deletes it, absent leaves it. */
  readonly readModel?: JsonValue;
  readonly log?: readonly EventLogEntry[];
}

/** A durable timer: at `dueAt` (epoch ms) `message` is put into its shard's mailbox. */
export interface TimerSpec {
  /** Unique per shard; scheduling an existing id replaces it. */
  readonly timerId: string;
  readonly dueAt: number;
  readonly message: MailboxMessage;
}

/** One thing to do after the commit: deliver a message or run a side effect. */
export type SingleOutboxItem =
  | { readonly kind: 'message'; readonly message: MailboxMessage }
  | { readonly kind: 'effect'; readonly effectId: string; readonly effect: JsonValue };

/**
 * Something to do after the commit. A `batch` is what one commit declared,
 * stored as one record: one outbox write and one delete per commit instead
 * of one per item. The store keeps items opaque; only the relay looks inside.
 */
export type OutboxItem = SingleOutboxItem | { readonly kind: 'batch'; readonly items: readonly SingleOutboxItem[] };

export interface OutboxRecord {
  readonly outboxId: string;
  readonly item: OutboxItem;
}

export interface CommitRequest {
  readonly shard: number;
  /** Fencing token of the caller's lease on `shard`. */
  readonly fence: number;
  readonly writes: readonly EntityWrite[];
  /** Event ids now applied; recorded so redelivery is recognised (see `filterApplied`). */
  readonly appliedEventIds?: readonly string[];
  /** Mailbox entries of `shard` to acknowledge in the same atomic step. */
  readonly ack?: readonly string[];
  readonly outbox?: readonly OutboxItem[];
  /**
   * Messages for entities of `shard` itself, appended to its mailbox in the
   * same atomic step (no outbox round trip). Each must name `shard`.
   */
  readonly send?: readonly MailboxMessage[];
  readonly scheduleTimers?: readonly TimerSpec[];
  readonly cancelTimers?: readonly string[];
}

export type CommitResult =
  | { readonly ok: true; readonly outboxIds: readonly string[] }
  | { readonly ok: false; readonly reason: 'stale_fence' }
  | { readonly ok: false; readonly reason: 'conflict'; readonly ref: EntityRef; readonly actualVersion: number }
  | { readonly ok: false; readonly reason: 'duplicate'; readonly eventId: string };

export interface Lease {
  readonly owner: string;
  readonly token: number;
  readonly expiresAt: number;
}

export interface MemberRecord {
  readonly id: string;
  readonly info: JsonValue;
  readonly expiresAt: number;
}

export interface QueueItem {
  readonly member: string;
  /** Lower is served first. */
  readonly score: number;
}

export interface KvEntry {
  readonly key: string;
  readonly value: JsonValue;
  readonly version: number;
}

export interface Store {
  /** Human-readable kind, for logs and `/health`. */
  readonly kind: 'redis' | 'embedded';
  /** Number of shards this store was created for; fixed for its lifetime. */
  readonly shardCount: number;

  // ── entities ────────────────────────────────────────────────────────────
  // Entity reads name the shard the entity was committed to: its data lives in
  // that shard's key space, and only the caller's routing knows which that is.
  // Reading under another shard is a caller error with an unspecified result
  // (the Redis store finds nothing there; the embedded store ignores it).

  /**
   * The entities `refs`, all living in `shard`, in `refs` order; null where
   * one does not exist. One call per shard, matching how the runtime works.
   */
  loadEntities(shard: number, refs: readonly EntityRef[]): Promise<(StoredEntity | null)[]>;
  /**
   * Atomically: check the fence, check every `expectedVersion` and that no
   * `appliedEventIds` was applied before, then write snapshots, read models,
   * event-log lines, applied ids, acks, outbox items and timers — all or nothing.
   */
  commit(request: CommitRequest): Promise<CommitResult>;
  /** The ids among `eventIds` already applied on `shard`. */
  filterApplied(shard: number, eventIds: readonly string[]): Promise<Set<string>>;
  /** Read models of `refs` (which may span shards), in order; null where none is stored. */
  readReadModels(refs: readonly LocatedRef[]): Promise<(JsonValue | null)[]>;
  /**
   * Event-log lines of `ref` (living in `shard`) with `seq > afterSeq`, oldest
   * first, at most `limit`; empty for an unknown entity.
   */
  readEventLog(shard: number, ref: EntityRef, options?: { afterSeq?: number; limit?: number }): Promise<EventLogRecord[]>;
  /**
   * Deletes entities of `shard` for good: snapshot, read model and event log.
   * For retention of entities that no longer change (a job 30 days after it
   * ended), so it takes no fence: a late commit to a purged entity fails its
   * version check and the runtime treats the entity as absent.
   */
  purgeEntities(shard: number, refs: readonly EntityRef[]): Promise<void>;

  // ── mailboxes (at-least-once, per shard) ────────────────────────────────
  /** Anyone may send; no fence. Messages may target different shards. */
  appendMailbox(messages: readonly MailboxMessage[]): Promise<void>;
  /**
   * New messages of `shards` for `consumer`, oldest first, up to `count`;
   * waits up to `blockMs` when none is there. Delivered entries stay pending
   * until acknowledged (by `commit` or `ackMailbox`).
   */
  readMailbox(shards: readonly number[], consumer: string, options: { count: number; blockMs: number }): Promise<MailboxDelivery[]>;
  /** Every pending (delivered, unacknowledged) entry of `shard`, reassigned to `consumer`. */
  reclaimMailbox(shard: number, consumer: string): Promise<MailboxDelivery[]>;
  ackMailbox(shard: number, fence: number, entryIds: readonly string[]): Promise<boolean>;
  /** Messages waiting plus pending, for metrics and drain checks. */
  mailboxDepth(shard: number): Promise<number>;

  // ── outbox (written by commit, drained by the shard owner) ──────────────
  readOutbox(shard: number, limit: number): Promise<OutboxRecord[]>;
  deleteOutbox(shard: number, fence: number, outboxIds: readonly string[]): Promise<boolean>;

  // ── durable timers ──────────────────────────────────────────────────────
  /** Moves timers of `shard` due at or before `now` into the mailbox; returns how many. */
  fireDueTimers(shard: number, fence: number, now: number, limit: number): Promise<number>;
  /** Earliest due time among `shards`, or null. */
  nextTimerDue(shards: readonly number[]): Promise<number | null>;

  // ── priority queues ─────────────────────────────────────────────────────
  queuePush(queue: string, items: readonly QueueItem[]): Promise<void>;
  /** Removes and returns up to `count` items with the lowest scores. */
  queuePop(queue: string, count: number): Promise<QueueItem[]>;
  queueRemove(queue: string, members: readonly string[]): Promise<number>;
  /**
   * Removes `members` in one atomic step and returns those that were present,
   * in the order given: each member is won by exactly one caller across all
   * controllers (the scheduler's claim of ready attempts).
   */
  queueClaim(queue: string, members: readonly string[]): Promise<string[]>;
  /**
   * Up to `count` items in score order after skipping `offset`, removing none.
   * Queues double as ordered indexes (an account's jobs, newest first), which
   * is what the offset is for.
   */
  queuePeek(queue: string, count: number, offset?: number): Promise<QueueItem[]>;
  queueSize(queue: string): Promise<number>;

  // ── ranges: one queue member handing out the integers 0, 1, 2, … in order ──
  /**
   * Adds `member` to `queue` at `score` as a range, with its cursor at 0,
   * unless `member` was pushed as a range before (its cursor outlives it, so
   * a repeated push is a no-op even after the range ran out or was closed).
   * True when it was added. A range is a job's not-yet-created tasks: one
   * member instead of one per task.
   */
  queuePushRange(queue: string, member: string, score: number): Promise<boolean>;
  /**
   * Takes the next `max` integers below `end` from the range `member`, in
   * one atomic step: `[from, to)`, or null when `member` is not in the queue
   * (another caller took the last of it, or it was closed). The member
   * leaves the queue when its cursor reaches `end`. Every integer is handed
   * out to exactly one caller across all controllers.
   */
  queueTakeRange(queue: string, member: string, end: number, max: number): Promise<{ readonly from: number; readonly to: number } | null>;
  /**
   * Removes the range `member` from the queue and returns its cursor: the
   * integers below it were handed out, none at or above it ever will be.
   * Null when `member` was never pushed, and then it never will be (its
   * cursor is set at 0). Repeating it returns the same cursor.
   */
  queueCloseRange(queue: string, member: string): Promise<number | null>;
  /** The range's cursor without changing anything; null when `member` was never pushed. */
  queueRangeCursor(queue: string, member: string): Promise<number | null>;
  /** Forgets the range `member` and its cursor altogether (its owner is gone). */
  queueForgetRange(queue: string, member: string): Promise<void>;

  // ── leases with fencing tokens ──────────────────────────────────────────
  /**
   * Takes `name` for `owner` when it is free or expired, with a token larger
   * than any issued before for `name`. Returns null when someone else holds it.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends the lease while `owner` still holds it with `token`. */
  renewLease(name: string, owner: string, token: number, ttlMs: number): Promise<Lease | null>;
  releaseLease(name: string, owner: string, token: number): Promise<boolean>;
  readLease(name: string): Promise<Lease | null>;

  // ── group membership (controller registry) ──────────────────────────────
  heartbeatMember(group: string, id: string, info: JsonValue, ttlMs: number): Promise<void>;
  removeMember(group: string, id: string): Promise<void>;
  listMembers(group: string): Promise<MemberRecord[]>;

  // ── KV ──────────────────────────────────────────────────────────────────
  kvGet(key: string): Promise<KvEntry | null>;
  /** With `ifVersion`, writes only when the current version matches (0 = absent). */
  kvSet(key: string, value: JsonValue, options?: { ttlMs?: number; ifVersion?: number }): Promise<KvEntry | null>;
  kvDelete(key: string): Promise<boolean>;
  kvList(prefix: string, limit?: number): Promise<KvEntry[]>;

  /** The store's clock (epoch ms); lease expiry is measured with it. */
  now(): Promise<number>;
  close(): Promise<void>;
}
