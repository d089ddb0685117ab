import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShardCountMismatchError, WalCorruptError } from './errors.js';
import { SNAPSHOT_FILE, listWalGenerations, removeLeftoverTempFiles, removeWalGenerationsBefore, walFileName, writeFileAtomically } from './files.js';
import { SNAPSHOT_FORMAT, decodeSnapshot, encodeSnapshot, type SnapshotDocument } from './snapshot-codec.js';
import { StoreState } from './state.js';
import { scanWal } from './wal-format.js';

/** What opening a data dir rebuilt: the state and where the log continues. */
export interface RecoveredStore {
  readonly state: StoreState;
  /** Seq of the last batch in state; the next append gets `lastSeq + 1`. */
  readonly lastSeq: number;
  /** The log generation to append to. */
  readonly gen: number;
  /** Bytes of a torn final line that were cut off, 0 when the log ended cleanly. */
  readonly discardedTailBytes: number;
}

/**
 * Rebuilds the state from the data dir: snapshot first, then every log line
 * after it, in order. A torn last line of the newest log file (crash
 * mid-write) is cut off — its call was never acknowledged. Damage anywhere
 * else is refused with `WalCorruptError` rather than silently dropping data.
 */
export async function recoverStore(dir: string, shardCount: number): Promise<RecoveredStore> {
  await mkdir(dir, { recursive: true });
  await removeLeftoverTempFiles(dir);
  const gens = await listWalGenerations(dir);
  let doc = await readSnapshot(dir);
  if (!doc) {
    if (gens.length > 0) throw new WalCorruptError(join(dir, SNAPSHOT_FILE), 'missing while log files exist');
    // A fresh store: record its shard count at once so a later open with another count is refused.
    const state = new StoreState(shardCount);
    await writeFileAtomically(dir, SNAPSHOT_FILE, JSON.stringify(encodeSnapshot(state, { lastSeq: 0, walGen: 1 }, Date.now())));
    return { state, lastSeq: 0, gen: 1, discardedTailBytes: 0 };
  }
  if (doc.format !== SNAPSHOT_FORMAT) throw new WalCorruptError(join(dir, SNAPSHOT_FILE), `unknown format ${doc.format}`);
  if (doc.shardCount !== shardCount) throw new ShardCountMismatchError(dir, doc.shardCount, shardCount);
  const state = decodeSnapshot(doc);
  let lastSeq = doc.lastSeq;
  const firstGen = doc.walGen;
  doc = null; // let the parsed document go before reading logs

  await removeWalGenerationsBefore(dir, firstGen);
  const replayGens = gens.filter((gen) => gen >= firstGen);
  let discardedTailBytes = 0;
  for (const [index, gen] of replayGens.entries()) {
    const path = join(dir, walFileName(gen));
    const buffer = await readFile(path);
    const scan = scanWal(buffer);
    for (const batch of scan.batches) {
      if (batch.s <= lastSeq) continue;
      if (batch.s !== lastSeq + 1) throw new WalCorruptError(path, `batch ${batch.s} follows ${lastSeq}: a batch is missing`);
      for (const mutation of batch.m) state.apply(mutation);
      lastSeq = batch.s;
    }
    if (scan.badTail !== undefined) {
      const isLastFile = index === replayGens.length - 1;
      if (!isLastFile || !scan.badIsFinal) throw new WalCorruptError(path, `${scan.badTail} at byte ${scan.validBytes}`);
      discardedTailBytes = buffer.length - scan.validBytes;
      await truncateDurably(path, scan.validBytes);
    }
  }
  return { state, lastSeq, gen: replayGens.at(-1) ?? firstGen, discardedTailBytes };
}

async function readSnapshot(dir: string): Promise<SnapshotDocument | null> {
  const path = join(dir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return JSON.parse(text) as SnapshotDocument;
  } catch (error) {
    // Snapshots are written by rename, so a partial one means the disk lied.
    throw new WalCorruptError(path, `not JSON (${(error as Error).message})`);
  }
}

/** Cuts a torn tail off so the next append starts on a clean line. */
async function truncateDurably(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
