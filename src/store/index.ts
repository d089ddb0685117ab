/**
 * The store area's public surface (STYLE.md §9): the `Store` contract and its
 * implementations. Import from here, not from files inside `src/store/`.
 */
export type * from './store.js';
export { shardLeaseName } from './store.js';
export { RedisStore, DEFAULT_APPLIED_RETENTION_MS, type RedisStoreOptions } from './redis/redis-store.js';
export {
  EmbeddedStore,
  EmbeddedStoreError,
  StoreLockedError,
  type EmbeddedStoreOptions,
  type EmbeddedStoreErrorCode,
  type FsyncMode,
} from './embedded/index.js';
