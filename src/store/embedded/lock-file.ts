import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreLockedError } from './errors.js';
import { LOCK_FILE } from './files.js';

/**
 * The embedded store's single-controller guard: `store.lock` in the data dir
 * holds the pid of the process that has the store open. A second open — from
 * another process or this one — is refused while that pid is alive; a lock
 * left by a dead process is taken over.
 *
 * The lock is written to a temp file and hard-linked into place, so it never
 * exists empty (a reader could otherwise mistake a half-created lock for a
 * dead one), and creation fails atomically when it already exists. pid reuse
 * after a reboot can make a stale lock look alive; deleting the file by hand
 * is then the fix, and the error message names it.
 */
export class LockFile {
  private released = false;

  private constructor(readonly path: string) {}

  static acquire(dir: string): LockFile {
    const path = join(dir, LOCK_FILE);
    const content = `${process.pid}\n`;
    // A few rounds cover racing another process through a takeover.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryCreate(path, content)) return new LockFile(path);
      const seen = readOrNull(path);
      if (seen === null) continue; // released meanwhile
      const holder = parsePid(seen);
      if (holder !== null && isProcessAlive(holder)) throw new StoreLockedError(dir, holder);
      // Move the dead holder's lock aside; only one taker's rename succeeds.
      const aside = `${path}.stale-${randomUUID()}`;
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      const moved = readOrNull(aside);
      if (moved !== seen) {
        // Between our read and rename another process took over: put its lock back.
        try {
          linkSync(aside, path);
        } catch {
          // Someone holds a newer lock still; the next round sees it.
        }
      }
      unlinkSync(aside);
    }
    const holder = parsePid(readOrNull(path) ?? '');
    throw new StoreLockedError(dir, holder ?? -1);
  }

  /** Removes the lock if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (parsePid(readOrNull(this.path) ?? '') === process.pid) unlinkSync(this.path);
  }
}

function tryCreate(path: string, content: string): boolean {
  const temp = `${path}.new-${randomUUID()}`;
  writeFileSync(temp, content, { flush: true });
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function parsePid(text: string): number | null {
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Signal 0 probes existence; EPERM means it exists but belongs to someone else. */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
