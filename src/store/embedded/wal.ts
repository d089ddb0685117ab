import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreFailedError } from './errors.js';
import { fsyncDir, removeWalGenerationsBefore, walFileName, writeFileAtomically, SNAPSHOT_FILE } from './files.js';
import type { SnapshotPosition } from './snapshot-codec.js';
import { encodeWalLine } from './wal-format.js';

/**
 * When appended batches reach the disk's platter:
 * - `always` (default): each group commit is fsynced before its callers'
 *   promises resolve — an acknowledged write survives a power cut.
 * - `batch`: promises resolve once the OS has the bytes (survives a process
 *   crash, not a power cut) and the file is fsynced every `BATCH_FSYNC_MS`.
 */
export type FsyncMode = 'always' | 'batch';

const BATCH_FSYNC_MS = 100;

export interface WalOptions {
  readonly dir: string;
  readonly fsync: FsyncMode;
  /** Log bytes after which the next flush writes a snapshot and starts a new log file. */
  readonly compactAfterBytes: number;
  /** Serialises the whole state as of `position` — synchronously, so nothing slips in between. */
  readonly snapshot: (position: SnapshotPosition) => string;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * The append side of the write-ahead log, with group commit: every batch
 * appended while a write is in flight (or in the same tick) goes out in the
 * next single write + fsync, so throughput tracks fsync latency, not call
 * count. Batches reach the file in the order they were appended.
 */
export class WriteAheadLog {
  private pendingLines: string[] = [];
  private pendingWaiters: Waiter[] = [];
  private loop: Promise<void> | null = null;
  private compaction: Promise<void> | null = null;
  private failure: StoreFailedError | null = null;
  private unsynced = false;
  private readonly syncTimer: NodeJS.Timeout | null;

  constructor(
    private readonly options: WalOptions,
    private file: FileHandle,
    private gen: number,
    private lastSeq: number,
    private fileBytes: number,
  ) {
    this.syncTimer = options.fsync === 'batch' ? setInterval(() => void this.syncIfDirty(), BATCH_FSYNC_MS).unref() : null;
  }

  /** Opens generation `gen` for appending after recovery has validated (and trimmed) it. */
  static async openForAppend(options: WalOptions, gen: number, lastSeq: number): Promise<WriteAheadLog> {
    const file = await open(join(options.dir, walFileName(gen)), 'a');
    const { size } = await file.stat();
    await fsyncDir(options.dir);
    return new WriteAheadLog(options, file, gen, lastSeq, size);
  }

  /** Set once a write failed; every later append is refused. */
  get failed(): StoreFailedError | null {
    return this.failure;
  }

  /**
   * Queues one batch (already-serialised mutations) and resolves once it is
   * durable. Its place in the log is fixed now, synchronously.
   */
  append(mutationsJson: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.lastSeq += 1;
    this.pendingLines.push(encodeWalLine(this.lastSeq, mutationsJson));
    const durable = new Promise<void>((resolve, reject) => this.pendingWaiters.push({ resolve, reject }));
    this.scheduleFlush();
    return durable;
  }

  /** Waits for everything appended so far to be written, then syncs and closes the file. */
  async close(): Promise<void> {
    while (this.loop) await this.loop;
    if (this.compaction) await this.compaction;
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (!this.failure) await this.file.sync();
    await this.file.close();
  }

  private scheduleFlush(): void {
    if (this.loop) return;
    // setImmediate lets every call made in this tick join the same write.
    this.loop = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushPending())
      .finally(() => {
        this.loop = null;
        if (this.pendingLines.length > 0 && !this.failure) this.scheduleFlush();
      });
  }

  private async flushPending(): Promise<void> {
    while (this.pendingLines.length > 0 && !this.failure) {
      const lines = this.pendingLines;
      const waiters = this.pendingWaiters;
      this.pendingLines = [];
      this.pendingWaiters = [];
      const buffer = Buffer.from(lines.join(''), 'utf8');
      try {
        await writeAll(this.file, buffer);
        if (this.options.fsync === 'always') await this.file.datasync();
        else this.unsynced = true;
      } catch (error) {
        this.fail(error, waiters);
        return;
      }
      this.fileBytes += buffer.length;
      for (const waiter of waiters) waiter.resolve();
      if (this.fileBytes >= this.options.compactAfterBytes && !this.compaction) {
        try {
          await this.rotateAndSnapshot();
        } catch (error) {
          this.fail(error, []);
          return;
        }
      }
    }
  }

  /**
   * Captures the state now (it includes every batch appended so far, written
   * or not), moves appends to a fresh log file, and writes the snapshot in the
   * background. Batches already queued but unwritten land in the new file
   * with seq ≤ the snapshot's `lastSeq`, and replay skips them. Until the
   * snapshot is durable the old files stay, so a crash replays them instead.
   */
  private async rotateAndSnapshot(): Promise<void> {
    const nextGen = this.gen + 1;
    const snapshotText = this.options.snapshot({ lastSeq: this.lastSeq, walGen: nextGen });
    const nextFile = await open(join(this.options.dir, walFileName(nextGen)), 'a');
    await fsyncDir(this.options.dir);
    const previous = this.file;
    this.file = nextFile;
    this.gen = nextGen;
    this.fileBytes = 0;
    if (this.options.fsync === 'batch') await previous.sync();
    await previous.close();
    this.compaction = writeFileAtomically(this.options.dir, SNAPSHOT_FILE, snapshotText)
      .then(() => removeWalGenerationsBefore(this.options.dir, nextGen))
      // A failed snapshot loses nothing (the old log files remain); the next rotation tries again.
      .catch(() => undefined)
      .finally(() => {
        this.compaction = null;
      });
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.unsynced || this.failure) return;
    this.unsynced = false;
    const file = this.file;
    try {
      await file.datasync();
    } catch (error) {
      // A rotation closed this file meanwhile, after syncing it itself.
      if (file === this.file) this.fail(error, []);
    }
  }

  private fail(error: unknown, waiters: readonly Waiter[]): void {
    this.failure ??= new StoreFailedError(error);
    for (const waiter of [...waiters, ...this.pendingWaiters]) waiter.reject(this.failure);
    this.pendingLines = [];
    this.pendingWaiters = [];
  }
}

async function writeAll(file: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await file.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}
