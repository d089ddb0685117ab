/**
 * Errors thrown by the embedded store. Each has a stable `code` that callers
 * (the CLI, `/health`, the gateway's error handler) match on; messages are for
 * humans and may change.
 */

/** Every stable code the embedded store throws. */
export type EmbeddedStoreErrorCode =
  | 'STORE_LOCKED'
  | 'STORE_CLOSED'
  | 'STORE_FAILED'
  | 'STORE_WAL_CORRUPT'
  | 'STORE_SHARD_COUNT_MISMATCH'
  | 'STORE_INVALID_ARGUMENT';

/** Base class: `code` is stable, `cause` keeps the underlying error when there is one. */
export class EmbeddedStoreError extends Error {
  readonly code: EmbeddedStoreErrorCode;

  constructor(code: EmbeddedStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Another live process (or this one) already controls the data dir. */
export class StoreLockedError extends EmbeddedStoreError {
  readonly dataDir: string;
  readonly holderPid: number;

  constructor(dataDir: string, holderPid: number) {
    super(
      'STORE_LOCKED',
      `the embedded store in ${dataDir} is already open by process ${holderPid}; ` +
        'the embedded store refuses a second controller — stop the other process, ' +
        'or use the Redis store to run several controllers',
    );
    this.dataDir = dataDir;
    this.holderPid = holderPid;
  }
}

/** A call was made after `close()`. */
export class StoreClosedError extends EmbeddedStoreError {
  constructor() {
    super('STORE_CLOSED', 'the embedded store is closed');
  }
}

/**
 * A write to the log failed (disk full, I/O error). Memory may now be ahead of
 * disk, so the store refuses every later call; reopen it to recover from disk.
 */
export class StoreFailedError extends EmbeddedStoreError {
  constructor(cause: unknown) {
    super('STORE_FAILED', 'the embedded store failed to write its log and must be reopened', { cause });
  }
}

/** A log or snapshot file is damaged somewhere other than a torn final line. */
export class WalCorruptError extends EmbeddedStoreError {
  readonly file: string;

  constructor(file: string, detail: string) {
    super('STORE_WAL_CORRUPT', `embedded store file ${file} is corrupt: ${detail}`);
    this.file = file;
  }
}

/** The data dir was created for a different number of shards. */
export class ShardCountMismatchError extends EmbeddedStoreError {
  constructor(dataDir: string, onDisk: number, requested: number) {
    super(
      'STORE_SHARD_COUNT_MISMATCH',
      `the embedded store in ${dataDir} was created with ${onDisk} shards, not ${requested}; the shard count is fixed for a store's lifetime`,
    );
  }
}

/** A caller passed something the contract does not allow (e.g. a shard out of range). */
export class StoreArgumentError extends EmbeddedStoreError {
  constructor(message: string) {
    super('STORE_INVALID_ARGUMENT', message);
  }
}
