import { Redis, type RedisOptions } from 'ioredis';
import type { JsonValue } from '../../shared/json.js';
import {
  shardLeaseName,
  type CommitRequest,
  type CommitResult,
  type EntityRef,
  type EventLogRecord,
  type KvEntry,
  type Lease,
  type LocatedRef,
  type MailboxDelivery,
  type MailboxMessage,
  type MemberRecord,
  type OutboxRecord,
  type QueueItem,
  type StoredEntity,
  type Store,
} from '../store.js';
import { decodeCommitReply, encodeCommit } from './commit-request.js';
import { RedisKeys } from './keys.js';
import { RedisMailbox } from './mailbox.js';
import { closeConnection, execPipeline } from './connection.js';
import { RedisQueueRanges } from './queue-ranges.js';
import { StoreScripts } from './scripts.js';

/** Applied event ids are remembered this long (ms) by default: 7 days. */
export const DEFAULT_APPLIED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface RedisStoreOptions {
  /** `redis://host:port/db` URL; default: ioredis's (localhost:6379). Ignored when `path` is set. */
  readonly url?: string;
  /** Unix socket path of the server; takes precedence over `url`. */
  readonly path?: string;
  /** Prefix of every key (no braces), so several stores can share one server. */
  readonly prefix: string;
  /** Number of shards; must be the same for every process sharing `prefix`. */
  readonly shardCount: number;
  /** How long applied event ids are kept for duplicate detection (ms). Default: 7 days. */
  readonly appliedRetentionMs?: number;
  /** Extra ioredis options (timeouts, TLS, retry strategy). */
  readonly redisOptions?: RedisOptions;
  /**
   * Receives connection errors (ioredis reconnects by itself). Default: none,
   * and ioredis prints them to stderr.
   */
  readonly onConnectionError?: (error: Error) => void;
}

/**
 * The production `Store` (ARCHITECTURE.md §4) on Redis 7 through ioredis.
 * Every multi-key change is one Lua script (`./commands/`), every key comes
 * from `RedisKeys`, and all of one shard's keys share a hash tag, so the same
 * code runs on Redis Cluster. Time (lease expiry, member expiry, applied-id
 * retention) is Redis's `TIME`, never a controller's clock.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private closed = false;
  private readonly ranges: RedisQueueRanges;

  private constructor(
    readonly shardCount: number,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly scripts: StoreScripts,
    private readonly mailbox: RedisMailbox,
    private readonly appliedRetentionMs: number,
  ) {
    this.ranges = new RedisQueueRanges(keys, scripts);
  }

  /** Connects, registers the scripts and creates the shard mailboxes' consumer groups. */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    if (!Number.isInteger(options.shardCount) || options.shardCount < 1) {
      throw new RangeError(`shardCount must be a positive integer, got ${options.shardCount}`);
    }
    const keys = new RedisKeys(options.prefix);
    const redisOptions: RedisOptions = { ...options.redisOptions, lazyConnect: true };
    if (options.path !== undefined) redisOptions.path = options.path;
    const redis = options.path === undefined && options.url !== undefined ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
    if (options.onConnectionError) redis.on('error', options.onConnectionError);
    try {
      await redis.connect();
      const scripts = new StoreScripts(redis);
      const mailbox = new RedisMailbox(redis, keys, scripts, options.onConnectionError);
      await mailbox.ensureGroups(Array.from({ length: options.shardCount }, (_, shard) => shard));
      return new RedisStore(options.shardCount, redis, keys, scripts, mailbox, options.appliedRetentionMs ?? DEFAULT_APPLIED_RETENTION_MS);
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }

  // ── entities ────────────────────────────────────────────────────────────
  async loadEntities(shard: number, refs: readonly EntityRef[]): Promise<(StoredEntity | null)[]> {
    this.assertShard(shard);
    if (refs.length === 0) return [];
    // One script call for the whole batch: its keys share the shard's slot.
    const entityKeys = refs.map((ref) => this.keys.entity(shard, ref));
    const flat = (await this.scripts.run('loadEntities', [this.keys.mailbox(shard)], entityKeys)) as (string | null)[];
    return refs.map((ref, i) => {
      const version = flat[2 * i];
      const snapshot = flat[2 * i + 1];
      if (typeof version !== 'string' || typeof snapshot !== 'string') return null;
      return { ref, version: Number(version), snapshot: JSON.parse(snapshot) as JsonValue };
    });
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    this.assertShard(request.shard);
    const encoded = encodeCommit(this.keys, request, this.appliedRetentionMs);
    return decodeCommitReply(request, await this.scripts.run('commit', encoded.keys, encoded.args));
  }

  async filterApplied(shard: number, eventIds: readonly string[]): Promise<Set<string>> {
    this.assertShard(shard);
    if (eventIds.length === 0) return new Set();
    const scores = await this.redis.zmscore(this.keys.applied(shard), [...eventIds]);
    return new Set(eventIds.filter((_, i) => scores[i] !== null && scores[i] !== undefined));
  }

  async readReadModels(refs: readonly LocatedRef[]): Promise<(JsonValue | null)[]> {
    for (const { shard } of refs) this.assertShard(shard);
    const models: (JsonValue | null)[] = refs.map(() => null);
    await Promise.all(
      [...groupByShard(refs)].map(async ([shard, indexes]) => {
        // One MGET per shard: its keys share the shard's slot.
        const values = await this.redis.mget(indexes.map((index) => this.keys.readModel(shard, (refs[index] as LocatedRef).ref)));
        indexes.forEach((index, i) => {
          const json = values[i];
          if (typeof json === 'string') models[index] = JSON.parse(json) as JsonValue;
        });
      }),
    );
    return models;
  }

  async readEventLog(shard: number, ref: EntityRef, options: { afterSeq?: number; limit?: number } = {}): Promise<EventLogRecord[]> {
    this.assertShard(shard);
    const afterSeq = Math.max(0, options.afterSeq ?? 0);
    if (options.limit !== undefined && options.limit <= 0) return [];
    // seq n is list index n - 1, so "after seq" is a plain LRANGE offset.
    const stop = options.limit === undefined ? -1 : afterSeq + options.limit - 1;
    const lines = await this.redis.lrange(this.keys.eventLog(shard, ref), afterSeq, stop);
    return lines.map((line, i) => ({ ...(JSON.parse(line) as Omit<EventLogRecord, 'seq'>), seq: afterSeq + i + 1 }));
  }

  async purgeEntities(shard: number, refs: readonly EntityRef[]): Promise<void> {
    this.assertShard(shard);
    if (refs.length === 0) return;
    // One DEL: every key carries the shard's hash tag, so they share a slot (Redis Cluster allows it).
    await this.redis.del(refs.flatMap((ref) => [this.keys.entity(shard, ref), this.keys.readModel(shard, ref), this.keys.eventLog(shard, ref)]));
  }

  // ── mailboxes ───────────────────────────────────────────────────────────
  async appendMailbox(messages: readonly MailboxMessage[]): Promise<void> {
    for (const message of messages) this.assertShard(message.shard);
    return this.mailbox.append(messages);
  }

  async readMailbox(shards: readonly number[], consumer: string, options: { count: number; blockMs: number }): Promise<MailboxDelivery[]> {
    for (const shard of shards) this.assertShard(shard);
    return this.mailbox.read(shards, consumer, options.count, options.blockMs);
  }

  async reclaimMailbox(shard: number, consumer: string): Promise<MailboxDelivery[]> {
    this.assertShard(shard);
    return this.mailbox.reclaim(shard, consumer);
  }

  async ackMailbox(shard: number, fence: number, entryIds: readonly string[]): Promise<boolean> {
    this.assertShard(shard);
    return this.mailbox.ack(shard, fence, entryIds);
  }

  async mailboxDepth(shard: number): Promise<number> {
    this.assertShard(shard);
    return this.mailbox.depth(shard);
  }

  // ── outbox ──────────────────────────────────────────────────────────────
  async readOutbox(shard: number, limit: number): Promise<OutboxRecord[]> {
    this.assertShard(shard);
    if (limit <= 0) return [];
    const entries = await this.redis.xrange(this.keys.outbox(shard), '-', '+', 'COUNT', limit);
    return entries.map(([outboxId, fields]) => ({ outboxId, item: JSON.parse(fields[1] ?? 'null') as OutboxRecord['item'] }));
  }

  async deleteOutbox(shard: number, fence: number, outboxIds: readonly string[]): Promise<boolean> {
    this.assertShard(shard);
    const reply = await this.scripts.run('deleteOutbox', [this.keys.lease(shardLeaseName(shard)), this.keys.outbox(shard)], [String(fence), ...outboxIds]);
    return reply === 1;
  }

  // ── timers ──────────────────────────────────────────────────────────────
  async fireDueTimers(shard: number, fence: number, now: number, limit: number): Promise<number> {
    this.assertShard(shard);
    if (limit <= 0) return 0;
    const keys = [this.keys.lease(shardLeaseName(shard)), this.keys.timers(shard), this.keys.timerMessages(shard), this.keys.mailbox(shard)];
    const fired = Number(await this.scripts.run('fireDueTimers', keys, [String(fence), now, limit]));
    // A stale owner moves nothing; it learns of the new owner on its next fenced write.
    return Math.max(0, fired);
  }

  async nextTimerDue(shards: readonly number[]): Promise<number | null> {
    if (shards.length === 0) return null;
    const pipeline = this.redis.pipeline();
    for (const shard of shards) {
      this.assertShard(shard);
      pipeline.zrange(this.keys.timers(shard), 0, 0, 'WITHSCORES');
    }
    let earliest: number | null = null;
    for (const reply of await execPipeline(pipeline)) {
      const score = (reply as string[])[1];
      if (score !== undefined && (earliest === null || Number(score) < earliest)) earliest = Number(score);
    }
    return earliest;
  }

  // ── priority queues ─────────────────────────────────────────────────────
  async queuePush(queue: string, items: readonly QueueItem[]): Promise<void> {
    if (items.length === 0) return;
    // Arrays, not spreads: ioredis flattens them, and a huge spread would overflow the call stack.
    await this.redis.call('ZADD', [this.keys.queue(queue), ...items.flatMap((item) => [item.score, item.member])]);
  }

  async queuePop(queue: string, count: number): Promise<QueueItem[]> {
    if (count <= 0) return [];
    return pairsToItems(await this.redis.zpopmin(this.keys.queue(queue), count));
  }

  async queueRemove(queue: string, members: readonly string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.redis.zrem(this.keys.queue(queue), [...members]);
  }

  async queueClaim(queue: string, members: readonly string[]): Promise<string[]> {
    const unique = [...new Set(members)];
    if (unique.length === 0) return [];
    // One MULTI: atomic, one round trip, and a ZREM reply per member says who won it.
    const key = this.keys.queue(queue);
    const replies = (await unique.reduce((multi, member) => multi.zrem(key, member), this.redis.multi()).exec()) ?? [];
    return unique.filter((_, i) => {
      const [error, removed] = replies[i] ?? [null, 0];
      if (error) throw error;
      return removed === 1;
    });
  }

  async queuePeek(queue: string, count: number, offset = 0): Promise<QueueItem[]> {
    if (count <= 0) return [];
    const start = Math.max(0, Math.floor(offset));
    return pairsToItems(await this.redis.zrange(this.keys.queue(queue), start, start + count - 1, 'WITHSCORES'));
  }

  async queueSize(queue: string): Promise<number> {
    return this.redis.zcard(this.keys.queue(queue));
  }

  queuePushRange(queue: string, member: string, score: number): Promise<boolean> {
    return this.ranges.push(queue, member, score);
  }

  queueTakeRange(queue: string, member: string, end: number, max: number): Promise<{ from: number; to: number } | null> {
    return this.ranges.take(queue, member, end, max);
  }

  queueCloseRange(queue: string, member: string): Promise<number | null> {
    return this.ranges.close(queue, member);
  }

  queueRangeCursor(queue: string, member: string): Promise<number | null> {
    return this.ranges.cursor(queue, member);
  }

  queueForgetRange(queue: string, member: string): Promise<void> {
    return this.ranges.forget(queue, member);
  }

  // ── leases ──────────────────────────────────────────────────────────────
  async acquireLease(name: string, owner: string, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    const reply = await this.scripts.run('acquireLease', [this.keys.lease(name), this.keys.leaseToken(name)], [owner, ttlMs]);
    if (!Array.isArray(reply)) return null;
    return { owner, token: Number(reply[0]), expiresAt: Number(reply[1]) };
  }

  async renewLease(name: string, owner: string, token: number, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    const reply = await this.scripts.run('renewLease', [this.keys.lease(name)], [owner, String(token), ttlMs]);
    return reply === null ? null : { owner, token, expiresAt: Number(reply) };
  }

  async releaseLease(name: string, owner: string, token: number): Promise<boolean> {
    return (await this.scripts.run('releaseLease', [this.keys.lease(name)], [owner, String(token)])) === 1;
  }

  async readLease(name: string): Promise<Lease | null> {
    const [owner, token, expiresAt] = await this.redis.hmget(this.keys.lease(name), 'owner', 'token', 'expiresAt');
    if (!owner || !token || !expiresAt) return null;
    return { owner, token: Number(token), expiresAt: Number(expiresAt) };
  }

  // ── group membership ────────────────────────────────────────────────────
  async heartbeatMember(group: string, id: string, info: JsonValue, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    await this.scripts.run('heartbeatMember', [this.keys.memberExpiry(group), this.keys.memberInfo(group)], [id, JSON.stringify(info), ttlMs]);
  }

  async removeMember(group: string, id: string): Promise<void> {
    await this.scripts.run('removeMember', [this.keys.memberExpiry(group), this.keys.memberInfo(group)], [id]);
  }

  async listMembers(group: string): Promise<MemberRecord[]> {
    const flat = (await this.scripts.run('listMembers', [this.keys.memberExpiry(group), this.keys.memberInfo(group)], [])) as string[];
    const members: MemberRecord[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      members.push({ id: flat[i] as string, expiresAt: Number(flat[i + 1]), info: JSON.parse(flat[i + 2] as string) as JsonValue });
    }
    return members;
  }

  // ── KV ──────────────────────────────────────────────────────────────────
  async kvGet(key: string): Promise<KvEntry | null> {
    const [version, value] = await this.redis.hmget(this.keys.kvValue(key), 'v', 'd');
    if (version === null || value === null || version === undefined || value === undefined) return null;
    return { key, version: Number(version), value: JSON.parse(value) as JsonValue };
  }

  async kvSet(key: string, value: JsonValue, options: { ttlMs?: number; ifVersion?: number } = {}): Promise<KvEntry | null> {
    if (options.ttlMs !== undefined) assertTtl(options.ttlMs);
    const version = await this.scripts.run(
      'kvSet',
      [this.keys.kvValue(key), this.keys.kvIndex()],
      [key, JSON.stringify(value), options.ttlMs ?? '', options.ifVersion ?? ''],
    );
    return version === null ? null : { key, value, version: Number(version) };
  }

  async kvDelete(key: string): Promise<boolean> {
    return (await this.scripts.run('kvDelete', [this.keys.kvValue(key), this.keys.kvIndex()], [key])) === 1;
  }

  async kvList(prefix: string, limit?: number): Promise<KvEntry[]> {
    if (limit !== undefined && limit <= 0) return [];
    // Byte 0xff never occurs in UTF-8, so `[prefix\xff` bounds every key starting with prefix.
    const start = prefix === '' ? '-' : `[${prefix}`;
    const end = prefix === '' ? '+' : Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    const flat = (await this.scripts.run('kvList', [this.keys.kvIndex()], [this.keys.kvValuePrefix(), start, end, limit ?? 0])) as string[];
    const entries: KvEntry[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      entries.push({ key: flat[i] as string, version: Number(flat[i + 1]), value: JSON.parse(flat[i + 2] as string) as JsonValue });
    }
    return entries;
  }

  // ── clock and lifecycle ─────────────────────────────────────────────────
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Idempotent: test fixtures and owners may both close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.mailbox.close();
    await closeConnection(this.redis);
  }

  private assertShard(shard: number): void {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shardCount) {
      throw new RangeError(`Shard ${shard} is outside 0..${this.shardCount - 1}`);
    }
  }
}

function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`TTL must be a positive whole number of ms, got ${ttlMs}`);
}

/** Indexes of `refs` grouped by shard, so each shard's keys go in one slot-local command. */
function groupByShard(refs: readonly LocatedRef[]): Map<number, number[]> {
  const byShard = new Map<number, number[]>();
  refs.forEach(({ shard }, index) => {
    const indexes = byShard.get(shard);
    if (indexes) indexes.push(index);
    else byShard.set(shard, [index]);
  });
  return byShard;
}

/** `[member, score, member, score, ...]` → queue items. */
function pairsToItems(flat: readonly string[]): QueueItem[] {
  const items: QueueItem[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) items.push({ member: flat[i] as string, score: Number(flat[i + 1]) });
  return items;
}
