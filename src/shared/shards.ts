/** Default number of virtual shards entities hash into (ARCHITECTURE.md §3). */
export const DEFAULT_SHARD_COUNT = 64;

/**
 * FNV-1a over the UTF-16 code units of `key`. Stable across processes and
 * versions, which is all a shard function needs; it is not a security hash.
 */
export function fnv1a32(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard that owns `routingKey` among `shardCount` shards. */
export function shardOf(routingKey: string, shardCount: number): number {
  return fnv1a32(routingKey) % shardCount;
}
