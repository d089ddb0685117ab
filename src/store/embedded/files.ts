import { open, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * File names inside the data dir and the small fsync helpers every writer
 * shares. Layout:
 *
 *   store.lock          pid of the process that has the store open
 *   snapshot.json       compacted state up to some log position
 *   wal-00000001.log    log generations; only those after the snapshot matter
 */
export const LOCK_FILE = 'store.lock';
export const SNAPSHOT_FILE = 'snapshot.json';

const WAL_PATTERN = /^wal-(\d+)\.log$/;

export function walFileName(gen: number): string {
  return `wal-${String(gen).padStart(8, '0')}.log`;
}

/** Generations of the log files present in `dir`, ascending. */
export async function listWalGenerations(dir: string): Promise<number[]> {
  const gens: number[] = [];
  for (const name of await readdir(dir)) {
    const match = WAL_PATTERN.exec(name);
    if (match?.[1]) gens.push(Number(match[1]));
  }
  return gens.sort((a, b) => a - b);
}

/** Makes renames and creations in `dir` survive a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `name` in `dir` with `text` so a crash leaves either the old or the new file whole. */
export async function writeFileAtomically(dir: string, name: string, text: string): Promise<void> {
  const target = join(dir, name);
  const temp = `${target}.tmp-${process.pid}`;
  const handle = await open(temp, 'w');
  try {
    await writeFile(handle, text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await fsyncDir(dir);
}

/** Removes temp files a crash left mid-`writeFileAtomically`; call only while holding the lock. */
export async function removeLeftoverTempFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(`${SNAPSHOT_FILE}.tmp-`)) await unlink(join(dir, name)).catch(() => undefined);
  }
}

/** Deletes the log generations before `gen` (already covered by a durable snapshot). */
export async function removeWalGenerationsBefore(dir: string, gen: number): Promise<void> {
  for (const old of await listWalGenerations(dir)) {
    if (old < gen) await unlink(join(dir, walFileName(old))).catch(() => undefined);
  }
}
