export { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';
export type { FsyncMode } from './wal.js';
export * from './errors.js';
