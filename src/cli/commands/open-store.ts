/** Opens the store `cluster.yml` describes. */
import { EmbeddedStore, RedisStore, type Store } from '../../store/index.js';
import type { ClusterConfig } from '../../shared/config.js';

/**
 * The configured store, connected. The embedded store takes a lock on its data
 * dir, so a second process on the same dir fails here, before anything listens.
 */
export async function openStore(config: ClusterConfig): Promise<Store> {
  const { store, shards } = config;
  if (store.kind === 'embedded') return EmbeddedStore.open({ dataDir: store.data_dir, shardCount: shards });
  return RedisStore.connect({
    ...(store.redis_url === undefined ? {} : { url: store.redis_url }),
    ...(store.redis_path === undefined ? {} : { path: store.redis_path }),
    prefix: store.key_prefix,
    shardCount: shards,
  });
}

/** Where the store lives, for the startup log line (never includes a password). */
export function describeStore(config: ClusterConfig): string {
  const { store } = config;
  if (store.kind === 'embedded') return `embedded at ${store.data_dir}`;
  if (store.redis_path !== undefined) return `redis at ${store.redis_path}`;
  const url = new URL(store.redis_url ?? 'redis://localhost:6379');
  url.password = '';
  url.username = '';
  return `redis at ${url.toString()}`;
}
