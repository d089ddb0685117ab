import { shardLeaseName, type EntityRef } from '../store.js';

/**
 * Builds every Redis key the store uses; nothing else concatenates key names
 * (Lua scripts receive the keys they touch, in KEYS or ARGV).
 *
 * Layout, with `cl` as the prefix:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `cl:{s17}:lease` / `:lease-token` | hash / counter | lease `shard:17` and its fencing-token counter |
 * | `cl:{s17}:mailbox` | stream + group `runtime` | shard 17's mailbox |
 * | `cl:{s17}:outbox` | stream | shard 17's outbox |
 * | `cl:{s17}:timers` / `:timer-messages` | zset / hash | timer id → dueAt, timer id → message |
 * | `cl:{s17}:applied` | zset | applied event ids, scored by apply time |
 * | `cl:{s17}:e:<kind>:<id>` | hash | entity `v` (version), `s` (snapshot) |
 * | `cl:{s17}:rm:<kind>:<id>` | string | entity read model |
 * | `cl:{s17}:log:<kind>:<id>` | list | entity event log; seq = position + 1 |
 * | `cl:{l:<name>}:lease` / `:lease-token` | hash / counter | any other lease |
 * | `cl:{q:<name>}:items` | zset | priority queue |
 * | `cl:{q:<name>}:range-cursors` | hash | range member → next integer it hands out |
 * | `cl:{m:<group>}:expiry` / `:info` | zset / hash | group members |
 * | `cl:{kv}:v:<key>` / `cl:{kv}:index` | hash / zset | KV entry (`v`, `d`) / lexicographic key index |
 *
 * Redis Cluster hashes only the first `{...}` of a key, so the prefix must not
 * contain braces and every key of one shard carries that shard's tag: a commit,
 * its fence check and its timers all live in one slot. User-supplied names are
 * URI-encoded inside tags so they cannot close the tag early or collide.
 */
export class RedisKeys {
  /** Consumer group every shard mailbox stream carries. */
  static readonly mailboxGroup = 'runtime';

  constructor(readonly prefix: string) {
    if (prefix.length === 0 || /[{}]/.test(prefix)) {
      throw new RangeError(`Redis key prefix must be non-empty and brace-free, got ${JSON.stringify(prefix)}`);
    }
  }

  // ── per shard (tag `{s<n>}`) ──────────────────────────────────────────────
  shardBase(shard: number): string {
    return `${this.prefix}:{s${shard}}:`;
  }
  mailbox(shard: number): string {
    return `${this.shardBase(shard)}mailbox`;
  }
  outbox(shard: number): string {
    return `${this.shardBase(shard)}outbox`;
  }
  timers(shard: number): string {
    return `${this.shardBase(shard)}timers`;
  }
  timerMessages(shard: number): string {
    return `${this.shardBase(shard)}timer-messages`;
  }
  applied(shard: number): string {
    return `${this.shardBase(shard)}applied`;
  }
  entity(shard: number, ref: EntityRef): string {
    return `${this.shardBase(shard)}e:${entityName(ref)}`;
  }
  readModel(shard: number, ref: EntityRef): string {
    return `${this.shardBase(shard)}rm:${entityName(ref)}`;
  }
  eventLog(shard: number, ref: EntityRef): string {
    return `${this.shardBase(shard)}log:${entityName(ref)}`;
  }

  // ── leases ───────────────────────────────────────────────────────────────
  /** A shard's lease (`shardLeaseName`) lives in the shard's tag so fenced scripts read it in-slot. */
  lease(name: string): string {
    return `${this.leaseBase(name)}lease`;
  }
  /** Never expires: fencing tokens keep growing across owners and expiries. */
  leaseToken(name: string): string {
    return `${this.leaseBase(name)}lease-token`;
  }
  private leaseBase(name: string): string {
    // Recognise exactly the names `shardLeaseName` builds; anything else is a plain lease.
    const shard = Number(/^shard:(\d+)$/.exec(name)?.[1] ?? NaN);
    if (Number.isSafeInteger(shard) && shardLeaseName(shard) === name) return this.shardBase(shard);
    return `${this.prefix}:{l:${encodeURIComponent(name)}}:`;
  }

  // ── queues, members, KV ──────────────────────────────────────────────────
  queue(name: string): string {
    return `${this.prefix}:{q:${encodeURIComponent(name)}}:items`;
  }
  /** Cursors of the queue's ranges (same tag as the queue: one script touches both). */
  queueRangeCursors(name: string): string {
    return `${this.prefix}:{q:${encodeURIComponent(name)}}:range-cursors`;
  }
  memberExpiry(group: string): string {
    return `${this.prefix}:{m:${encodeURIComponent(group)}}:expiry`;
  }
  memberInfo(group: string): string {
    return `${this.prefix}:{m:${encodeURIComponent(group)}}:info`;
  }
  /**
   * All KV entries share one tag: `kvList` needs one ordered index, and the
   * KV holds metadata, not hot data. The key follows the closed tag verbatim.
   */
  kvValuePrefix(): string {
    return `${this.prefix}:{kv}:v:`;
  }
  kvValue(key: string): string {
    return `${this.kvValuePrefix()}${key}`;
  }
  kvIndex(): string {
    return `${this.prefix}:{kv}:index`;
  }
}

/** `<kind>:<id>` with the kind URI-encoded, so the split point is unambiguous. */
function entityName(ref: EntityRef): string {
  return `${encodeURIComponent(ref.kind)}:${ref.id}`;
}
