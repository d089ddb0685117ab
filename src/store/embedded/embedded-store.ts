import { mkdir } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { JsonValue } from '../../shared/json.js';
import type {
  CommitRequest,
  CommitResult,
  EntityRef,
  EventLogRecord,
  KvEntry,
  Lease,
  LocatedRef,
  MailboxDelivery,
  MailboxMessage,
  MemberRecord,
  OutboxRecord,
  QueueItem,
  StoredEntity,
  Store,
} from '../store.js';
import { planCommit } from './commit-plan.js';
import { kvEntries, liveKvKeys, liveLease, memberRecords, planKvDelete, planKvSet, planLeaseAcquire, planLeaseRelease, planLeaseRenew, planMemberRemove } from './coordination.js';
import { StoreArgumentError, StoreClosedError } from './errors.js';
import { LockFile } from './lock-file.js';
import { planAppends, planDelivery } from './mailbox-plan.js';
import { MailboxWaiters } from './mailbox-waiters.js';
import { planQueueDelete, planQueuePop, planQueuePush, queueLowest } from './queue-plan.js';
import { planRangeClose, planRangeForget, planRangePush, planRangeTake, rangeCursor } from './queue-ranges.js';
import type { Mutation, Planned } from './mutations.js';
import { recoverStore } from './recovery.js';
import { earliestTimerDue, outboxRecords, planFireDueTimers, planMailboxAck, planOutboxDelete, planReclaim } from './shard-plan.js';
import { encodeSnapshot } from './snapshot-codec.js';
import { entityKey, type StoreState } from './state.js';
import { assertTtl, copyJson } from './values.js';
import { WriteAheadLog, type FsyncMode } from './wal.js';

/** Options of `EmbeddedStore.open`. */
export interface EmbeddedStoreOptions {
  /** Directory for the lock, snapshot and log files; created when missing. */
  readonly dataDir: string;
  /** Virtual shards; fixed when the data dir is created, checked on every open. */
  readonly shardCount: number;
  /** Default `always`: an acknowledged write survives a power cut. See `FsyncMode`. */
  readonly fsync?: FsyncMode;
  /** Log bytes after which a snapshot is written and the log restarted. Default 64 MiB. */
  readonly compactAfterBytes?: number;
}

const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;

/**
 * The `Store` for `computalot dev` and single-node installs: state in memory,
 * every change appended to a write-ahead log in the data dir and fsynced (with
 * group commit) before its promise resolves; snapshots bound replay time.
 * Exactly one process may have a data dir open (`STORE_LOCKED` otherwise):
 * several controllers need the Redis store.
 *
 * Calls validate against memory and apply their change synchronously, so
 * calls are linearised in the order they were made.
 */
export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private readonly waiters = new MailboxWaiters();
  private closing: Promise<void> | null = null;

  private constructor(
    readonly shardCount: number,
    private readonly state: StoreState,
    private readonly wal: WriteAheadLog,
    private readonly lock: LockFile,
  ) {}

  /** Locks the data dir, rebuilds the state from snapshot + log, and opens the log for appends. */
  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    const { shardCount } = options;
    if (!Number.isInteger(shardCount) || shardCount < 1) throw new StoreArgumentError(`shardCount must be a positive integer, got ${shardCount}`);
    const dir = resolvePath(options.dataDir);
    await mkdir(dir, { recursive: true });
    const lock = LockFile.acquire(dir);
    try {
      const recovered = await recoverStore(dir, shardCount);
      const wal = await WriteAheadLog.openForAppend(
        {
          dir,
          fsync: options.fsync ?? 'always',
          compactAfterBytes: options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES,
          snapshot: (position) => JSON.stringify(encodeSnapshot(recovered.state, position, Date.now())),
        },
        recovered.gen,
        recovered.lastSeq,
      );
      return new EmbeddedStore(shardCount, recovered.state, wal, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  // ── entities ──────────────────────────────────────────────────────────
  // One process holds every shard, so entities are keyed by ref alone; the
  // shard argument is only range-checked, to fail like the Redis store does.

  async loadEntities(shard: number, refs: readonly EntityRef[]): Promise<(StoredEntity | null)[]> {
    this.assertUsable();
    this.assertShard(shard);
    return refs.map((ref) => {
      const record = this.state.entities.get(entityKey(ref.kind, ref.id));
      if (!record || record.version === 0) return null;
      return { ref: { kind: ref.kind, id: ref.id }, version: record.version, snapshot: copyJson(record.snapshot) };
    });
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    this.assertUsable();
    this.assertShard(request.shard);
    const plan = planCommit(this.state, request, Date.now());
    if ('ok' in plan) return plan;
    const durable = this.persist(plan.mutations);
    if (request.send && request.send.length > 0) this.waiters.notify([request.shard]);
    await durable;
    return { ok: true, outboxIds: plan.outboxIds };
  }

  async filterApplied(shard: number, eventIds: readonly string[]): Promise<Set<string>> {
    this.assertUsable();
    this.assertShard(shard);
    const now = Date.now();
    return new Set(eventIds.filter((eventId) => this.state.wasApplied(shard, eventId, now)));
  }

  async readReadModels(refs: readonly LocatedRef[]): Promise<(JsonValue | null)[]> {
    this.assertUsable();
    for (const { shard } of refs) this.assertShard(shard);
    return refs.map(({ ref }) => {
      const readModel = this.state.entities.get(entityKey(ref.kind, ref.id))?.readModel;
      return readModel === undefined ? null : copyJson(readModel);
    });
  }

  async readEventLog(shard: number, ref: EntityRef, options: { afterSeq?: number; limit?: number } = {}): Promise<EventLogRecord[]> {
    this.assertUsable();
    this.assertShard(shard);
    const log = this.state.entities.get(entityKey(ref.kind, ref.id))?.log ?? [];
    // seq n sits at index n - 1: logs are never trimmed.
    const start = Math.max(0, options.afterSeq ?? 0);
    const end = options.limit === undefined ? undefined : start + Math.max(0, options.limit);
    return log.slice(start, end).map((record) => copyJson(record));
  }

  async purgeEntities(shard: number, refs: readonly EntityRef[]): Promise<void> {
    this.assertUsable();
    this.assertShard(shard);
    const present = refs.filter((ref) => this.state.entities.has(entityKey(ref.kind, ref.id)));
    if (present.length > 0) await this.persist([{ t: 'purge', refs: present.map(({ kind, id }) => ({ kind, id })) }]);
  }

  // ── mailboxes ─────────────────────────────────────────────────────────

  async appendMailbox(messages: readonly MailboxMessage[]): Promise<void> {
    this.assertUsable();
    for (const message of messages) this.assertShard(message.shard);
    if (messages.length === 0) return;
    const durable = this.persist(planAppends(this.state, messages.map((message) => ({ shard: message.shard, message })), Date.now()));
    this.waiters.notify(messages.map((message) => message.shard));
    await durable;
  }

  async readMailbox(shards: readonly number[], consumer: string, options: { count: number; blockMs: number }): Promise<MailboxDelivery[]> {
    this.assertUsable();
    for (const shard of shards) this.assertShard(shard);
    const deliveries = this.deliverWaiting(shards, consumer, options.count);
    if (deliveries.length > 0 || options.blockMs <= 0 || options.count <= 0) return deliveries;
    return this.waiters.wait(shards, options.blockMs, () => this.deliverWaiting(shards, consumer, options.count));
  }

  async reclaimMailbox(shard: number, consumer: string): Promise<MailboxDelivery[]> {
    this.assertUsable();
    this.assertShard(shard);
    const { mutations, result } = planReclaim(this.state, shard, consumer);
    if (mutations.length > 0) this.persistDelivery(mutations);
    return result;
  }

  ackMailbox(shard: number, fence: number, entryIds: readonly string[]): Promise<boolean> {
    this.assertShard(shard);
    return this.runPlan(() => planMailboxAck(this.state, shard, fence, entryIds, Date.now()));
  }

  async mailboxDepth(shard: number): Promise<number> {
    this.assertUsable();
    this.assertShard(shard);
    return this.state.mailboxes[shard]?.depth ?? 0;
  }

  // ── outbox ────────────────────────────────────────────────────────────

  async readOutbox(shard: number, limit: number): Promise<OutboxRecord[]> {
    this.assertUsable();
    this.assertShard(shard);
    return outboxRecords(this.state, shard, limit);
  }

  deleteOutbox(shard: number, fence: number, outboxIds: readonly string[]): Promise<boolean> {
    this.assertShard(shard);
    return this.runPlan(() => planOutboxDelete(this.state, shard, fence, outboxIds, Date.now()));
  }

  // ── timers ────────────────────────────────────────────────────────────

  async fireDueTimers(shard: number, fence: number, now: number, limit: number): Promise<number> {
    this.assertUsable();
    this.assertShard(shard);
    const { mutations, result } = planFireDueTimers(this.state, shard, fence, now, limit, Date.now());
    if (result === 0) return 0;
    const durable = this.persist(mutations);
    this.waiters.notify([shard]);
    await durable;
    return result;
  }

  async nextTimerDue(shards: readonly number[]): Promise<number | null> {
    this.assertUsable();
    for (const shard of shards) this.assertShard(shard);
    return earliestTimerDue(this.state, shards);
  }

  // ── priority queues ───────────────────────────────────────────────────

  queuePush(queue: string, items: readonly QueueItem[]): Promise<void> {
    return this.runPlan(() => planQueuePush(queue, items));
  }

  queuePop(queue: string, count: number): Promise<QueueItem[]> {
    return this.runPlan(() => planQueuePop(this.state, queue, count));
  }

  async queueRemove(queue: string, members: readonly string[]): Promise<number> {
    return (await this.runPlan(() => planQueueDelete(this.state, queue, members))).length;
  }

  queueClaim(queue: string, members: readonly string[]): Promise<string[]> {
    return this.runPlan(() => planQueueDelete(this.state, queue, members));
  }

  async queuePeek(queue: string, count: number, offset = 0): Promise<QueueItem[]> {
    this.assertUsable();
    const skip = Math.max(0, Math.floor(offset));
    return queueLowest(this.state, queue, skip + count).slice(skip);
  }

  async queueSize(queue: string): Promise<number> {
    this.assertUsable();
    return this.state.queues.get(queue)?.size ?? 0;
  }

  queuePushRange(queue: string, member: string, score: number): Promise<boolean> {
    return this.runPlan(() => planRangePush(this.state, queue, member, score));
  }

  queueTakeRange(queue: string, member: string, end: number, max: number): Promise<{ from: number; to: number } | null> {
    return this.runPlan(() => planRangeTake(this.state, queue, member, end, max));
  }

  queueCloseRange(queue: string, member: string): Promise<number | null> {
    return this.runPlan(() => planRangeClose(this.state, queue, member));
  }

  async queueRangeCursor(queue: string, member: string): Promise<number | null> {
    this.assertUsable();
    return rangeCursor(this.state, queue, member);
  }

  queueForgetRange(queue: string, member: string): Promise<void> {
    return this.runPlan(() => planRangeForget(this.state, queue, member));
  }

  /** Plans against memory, then applies and logs the plan's mutations before answering. */
  private async runPlan<T>(plan: () => Planned<T>): Promise<T> {
    this.assertUsable();
    const { mutations, result } = plan();
    if (mutations.length > 0) await this.persist(mutations);
    return result;
  }

  // ── leases, membership, KV (decided in coordination.ts) ───────────────

  acquireLease(name: string, owner: string, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    return this.runPlan(() => planLeaseAcquire(this.state, name, owner, ttlMs, Date.now()));
  }

  renewLease(name: string, owner: string, token: number, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    return this.runPlan(() => planLeaseRenew(this.state, name, owner, token, ttlMs, Date.now()));
  }

  releaseLease(name: string, owner: string, token: number): Promise<boolean> {
    return this.runPlan(() => planLeaseRelease(this.state, name, owner, token, Date.now()));
  }

  async readLease(name: string): Promise<Lease | null> {
    this.assertUsable();
    const lease = liveLease(this.state, name, Date.now());
    return lease ? { ...lease } : null;
  }

  heartbeatMember(group: string, id: string, info: JsonValue, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    return this.runPlan(() => ({ mutations: [{ t: 'memberSet', group, id, info, expiresAt: Date.now() + ttlMs }], result: undefined }));
  }

  removeMember(group: string, id: string): Promise<void> {
    return this.runPlan(() => planMemberRemove(this.state, group, id));
  }

  async listMembers(group: string): Promise<MemberRecord[]> {
    this.assertUsable();
    return memberRecords(this.state, group, Date.now());
  }

  async kvGet(key: string): Promise<KvEntry | null> {
    this.assertUsable();
    return kvEntries(this.state, [key], Date.now())[0] ?? null;
  }

  kvSet(key: string, value: JsonValue, options: { ttlMs?: number; ifVersion?: number } = {}): Promise<KvEntry | null> {
    if (options.ttlMs !== undefined) assertTtl(options.ttlMs);
    return this.runPlan(() => planKvSet(this.state, key, value, options, Date.now()));
  }

  kvDelete(key: string): Promise<boolean> {
    return this.runPlan(() => planKvDelete(this.state, key, Date.now()));
  }

  async kvList(prefix: string, limit?: number): Promise<KvEntry[]> {
    this.assertUsable();
    const now = Date.now();
    return kvEntries(this.state, liveKvKeys(this.state, prefix, now).slice(0, limit), now);
  }

  async now(): Promise<number> {
    return Date.now();
  }

  /** Wakes blocked readers, makes every acknowledged write durable, and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.waiters.releaseAll();
      try {
        await this.wal.close();
      } finally {
        this.lock.release();
      }
    })();
    return this.closing;
  }

  // ── internals ─────────────────────────────────────────────────────────

  /**
   * Applies a batch to memory and appends it to the log; resolves when it is
   * durable. Memory gets a copy parsed back from the very JSON that is
   * logged, so the live state is exactly what replay will rebuild and shares
   * nothing with the caller's objects.
   */
  private persist(mutations: readonly Mutation[]): Promise<void> {
    const json = JSON.stringify(mutations);
    for (const mutation of JSON.parse(json) as Mutation[]) this.state.apply(mutation);
    return this.wal.append(json);
  }

  /**
   * Deliveries are logged but not awaited: losing one to a crash only turns
   * a pending entry back into a waiting one, which at-least-once allows, and
   * anything later in the log (an ack) implies it is on disk.
   */
  private persistDelivery(mutations: readonly Mutation[]): void {
    // A failed write poisons the store; the next call reports it.
    this.persist(mutations).catch(() => undefined);
  }

  /** Hands up to `count` never-delivered entries of `shards`, oldest first, to `consumer`. */
  private deliverWaiting(shards: readonly number[], consumer: string, count: number): MailboxDelivery[] {
    if (this.closing || count <= 0) return [];
    const plan = planDelivery(this.state, shards, consumer, count);
    if (plan.mutations.length > 0) this.persistDelivery(plan.mutations);
    return plan.deliveries.map((delivery) => copyJson(delivery));
  }

  private assertUsable(): void {
    if (this.closing) throw new StoreClosedError();
    const failure = this.wal.failed;
    if (failure) throw failure;
  }

  private assertShard(shard: number): void {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shardCount) {
      throw new StoreArgumentError(`shard ${shard} is out of range 0..${this.shardCount - 1}`);
    }
  }
}
