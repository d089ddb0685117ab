import type { Redis } from 'ioredis';
import { shardLeaseName, type MailboxDelivery, type MailboxMessage } from '../store.js';
import { RedisKeys } from './keys.js';
import { closeConnection } from './connection.js';
import type { StoreScripts } from './scripts.js';

/** Entries reclaimed per XAUTOCLAIM call. */
const RECLAIM_BATCH = 1000;

/**
 * Shard mailboxes: one Redis stream per shard with the consumer group
 * `runtime`. Entries carry the message JSON in field `m`. Acknowledged entries
 * are deleted (in the ack script), so a stream's length is waiting + pending.
 */
export class RedisMailbox {
  /** Blocking reads each take a connection of their own so they never queue behind one another. */
  private readonly idleReaders: Redis[] = [];
  private readonly busyReaders = new Set<Redis>();
  /**
   * XREADGROUP's COUNT is per stream, so a read of several shards can deliver
   * more than asked. The surplus is already pending for the consumer in Redis;
   * it is handed out by the next read instead of being dropped.
   */
  private readonly surplus = new Map<string, MailboxDelivery[]>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly scripts: StoreScripts,
    private readonly onConnectionError?: (error: Error) => void,
  ) {}

  /** Creates the consumer group of each shard's stream (and the stream); idempotent. */
  async ensureGroups(shards: readonly number[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const shard of shards) {
      pipeline.xgroup('CREATE', this.keys.mailbox(shard), RedisKeys.mailboxGroup, '0', 'MKSTREAM');
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) {
      if (error && !error.message.includes('BUSYGROUP')) throw error;
    }
  }

  async append(messages: readonly MailboxMessage[]): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const message of messages) {
      const json = JSON.stringify(message);
      const batch = byShard.get(message.shard);
      if (batch) batch.push(json);
      else byShard.set(message.shard, [json]);
    }
    // One script call per shard; ioredis writes them back to back on one connection.
    await Promise.all([...byShard].map(([shard, batch]) => this.scripts.run('appendMailbox', [this.keys.mailbox(shard)], batch)));
  }

  async read(requested: readonly number[], consumer: string, count: number, blockMs: number): Promise<MailboxDelivery[]> {
    // XREADGROUP rejects a stream named twice.
    const shards = [...new Set(requested)];
    if (shards.length === 0 || count <= 0) return [];
    const held = this.takeSurplus(consumer, shards, count);
    if (held.length > 0) return held;

    // COUNT applies per stream: asking every shard for `count` would fetch up to
    // shards × count entries to keep `count`. A fair share per stream (with a
    // floor, so one busy shard still drains in large bites) keeps reads near `count`.
    const perStream = Math.min(count, Math.max(MIN_PER_STREAM, Math.ceil(count / shards.length)));
    const streams = this.shardOfStream(shards);
    const deliveries = parseReadReply(await this.readGroup(shards, consumer, perStream, blockMs), streams);
    // A stream that filled its share may hold far more (a big job's shard):
    // top it up without blocking, so one hot shard still drains in batches
    // of about `count`, and the read stays near `count` in total.
    const full = fullShards(deliveries, perStream);
    if (full.length > 0 && deliveries.length < count) {
      const topUp = Math.ceil((count - deliveries.length) / full.length);
      deliveries.push(...parseReadReply(await this.readGroup(full, consumer, topUp, 0), streams));
    }
    deliveries.sort(compareDeliveries);
    if (deliveries.length > count) {
      // Appended, not replaced: a concurrent read of the same consumer may have left some too.
      this.surplus.set(consumer, [...(this.surplus.get(consumer) ?? []), ...deliveries.slice(count)]);
    }
    return deliveries.slice(0, count);
  }

  async reclaim(shard: number, consumer: string): Promise<MailboxDelivery[]> {
    // The new owner takes everything; copies held back for local consumers are now its.
    for (const [name, held] of this.surplus) {
      this.surplus.set(name, held.filter((delivery) => delivery.shard !== shard));
    }
    const key = this.keys.mailbox(shard);
    const deliveries: MailboxDelivery[] = [];
    let cursor = '0-0';
    do {
      let reply: unknown;
      try {
        reply = await this.redis.call('XAUTOCLAIM', key, RedisKeys.mailboxGroup, consumer, '0', cursor, 'COUNT', String(RECLAIM_BATCH));
      } catch (error) {
        if (!isNoGroup(error)) throw error;
        await this.ensureGroups([shard]);
        return [];
      }
      const [next, entries] = reply as [string, unknown[]];
      deliveries.push(...parseEntries(shard, entries));
      cursor = next;
    } while (cursor !== '0-0');
    return deliveries;
  }

  async ack(shard: number, fence: number, entryIds: readonly string[]): Promise<boolean> {
    const reply = await this.scripts.run(
      'ack',
      [this.keys.lease(shardLeaseName(shard)), this.keys.mailbox(shard)],
      [String(fence), RedisKeys.mailboxGroup, ...entryIds],
    );
    return reply === 1;
  }

  depth(shard: number): Promise<number> {
    return this.redis.xlen(this.keys.mailbox(shard));
  }

  /** Ends blocked reads (they return nothing) and closes the reader connections. */
  async close(): Promise<void> {
    this.closed = true;
    for (const reader of this.busyReaders) reader.disconnect();
    await Promise.all(this.idleReaders.splice(0).map((reader) => closeConnection(reader)));
  }

  private async readGroup(shards: readonly number[], consumer: string, count: number, blockMs: number): Promise<unknown> {
    const args: (string | number)[] = ['GROUP', RedisKeys.mailboxGroup, consumer, 'COUNT', count];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    args.push('STREAMS', ...shards.map((shard) => this.keys.mailbox(shard)), ...shards.map(() => '>'));

    // A read begun after close() would open a reader nobody closes, which then retries forever once Redis is gone.
    if (this.closed) return null;
    const reader = this.idleReaders.pop() ?? this.newReader();
    this.busyReaders.add(reader);
    try {
      return await reader.call('XREADGROUP', args);
    } catch (error) {
      if (this.closed) return null;
      if (!isNoGroup(error)) throw error;
      // The server lost the group (e.g. restarted without persistence): recreate, read again.
      await this.ensureGroups(shards);
      return await reader.call('XREADGROUP', args);
    } finally {
      this.busyReaders.delete(reader);
      if (this.closed) reader.disconnect();
      else this.idleReaders.push(reader);
    }
  }

  private newReader(): Redis {
    const reader = this.redis.duplicate();
    if (this.onConnectionError) reader.on('error', this.onConnectionError);
    return reader;
  }

  private takeSurplus(consumer: string, shards: readonly number[], count: number): MailboxDelivery[] {
    const held = this.surplus.get(consumer);
    if (!held) return [];
    // Entries of shards no longer read stay pending in Redis for whoever reclaims them.
    const wanted = held.filter((delivery) => shards.includes(delivery.shard));
    const taken = wanted.slice(0, count);
    if (wanted.length > count) this.surplus.set(consumer, wanted.slice(count));
    else this.surplus.delete(consumer);
    return taken;
  }

  private shardOfStream(shards: readonly number[]): Map<string, number> {
    return new Map(shards.map((shard) => [this.keys.mailbox(shard), shard]));
  }
}

function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOGROUP');
}

/** XREADGROUP reply: null, or [[streamKey, [[entryId, [field, value, ...]], ...]], ...]. */
function parseReadReply(reply: unknown, shardOfStream: Map<string, number>): MailboxDelivery[] {
  if (!Array.isArray(reply)) return [];
  const deliveries: MailboxDelivery[] = [];
  for (const [streamKey, entries] of reply as [string, unknown[]][]) {
    const shard = shardOfStream.get(streamKey);
    if (shard === undefined) throw new Error(`XREADGROUP answered for unexpected stream ${streamKey}`);
    deliveries.push(...parseEntries(shard, entries));
  }
  return deliveries;
}

function parseEntries(shard: number, entries: unknown[]): MailboxDelivery[] {
  const deliveries: MailboxDelivery[] = [];
  for (const entry of entries) {
    // Entries deleted while pending come back without fields (Redis < 7) or not at all.
    if (!Array.isArray(entry) || !Array.isArray(entry[1])) continue;
    const [entryId, fields] = entry as [string, string[]];
    const messageAt = fields.indexOf('m');
    const json = messageAt >= 0 ? fields[messageAt + 1] : undefined;
    if (json === undefined) continue;
    deliveries.push({ shard, entryId, message: JSON.parse(json) as MailboxMessage });
  }
  return deliveries;
}

/** Smallest per-stream COUNT of a multi-shard read. */
const MIN_PER_STREAM = 32;

/** Shards that delivered `share` entries or more: they may have more waiting. */
function fullShards(deliveries: readonly MailboxDelivery[], share: number): number[] {
  const perShard = new Map<number, number>();
  for (const { shard } of deliveries) perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
  return [...perShard].filter(([, n]) => n >= share).map(([shard]) => shard);
}

/** Oldest first across shards: stream ids are `<ms>-<seq>`. */
function compareDeliveries(a: MailboxDelivery, b: MailboxDelivery): number {
  if (a.entryId === b.entryId) return a.shard - b.shard;
  const aDash = a.entryId.indexOf('-');
  const bDash = b.entryId.indexOf('-');
  return Number(a.entryId.slice(0, aDash)) - Number(b.entryId.slice(0, bDash)) || Number(a.entryId.slice(aDash + 1)) - Number(b.entryId.slice(bDash + 1)) || a.shard - b.shard;
}
