/**
 * Safe extraction of a project tarball. The archive is written into a fresh
 * temporary directory next to the destination and renamed into place only when
 * every entry passed: a rejected archive leaves nothing behind, and nothing is
 * ever written outside that temporary directory.
 *
 * Files are created by this code, not by `tar.x`, so nothing from the archive
 * can carry ownership (`preserveOwner` is moot: files belong to this process),
 * modes are normalized (0755/0644, never setuid/setgid/sticky), and every
 * file is opened with O_EXCL so a write can never follow a symlink.
 */
import { createWriteStream, mkdirSync, symlinkSync, type WriteStream } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DEFAULT_TARBALL_LIMITS, type TarballLimits } from './limits.js';
import { listingOf, type TarballListing } from './listing.js';
import { scanTarball, type ScanVisitor } from './scan.js';

/**
 * Extracts the gzip tarball `source` to `destination`, which must not exist yet
 * (a revision's directory is keyed by its content hash, so it is written once).
 * Returns the same listing {@link listTarball} gives.
 *
 * @throws InvalidTarballError / UnsafeTarballError as `listTarball` does; the
 *   rename's error when `destination` appeared meanwhile.
 */
export async function extractTarball(source: Readable, destination: string, limits: TarballLimits = DEFAULT_TARBALL_LIMITS): Promise<TarballListing> {
  const target = resolve(destination);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const staging = await mkdtemp(join(parent, `.${basename(target)}.extract-`));
  const writes = new Set<WriteStream>();
  try {
    const scan = await scanTarball(source, limits, writerInto(staging, writes));
    // mkdtemp creates 0700; the revision directory is read by sandboxed tasks.
    await chmod(staging, 0o755);
    await rename(staging, target);
    return listingOf(scan);
  } catch (error) {
    for (const stream of writes) stream.destroy();
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Writes accepted entries under `root`; paths arrive normalized and checked by the scan. */
function writerInto(root: string, writes: Set<WriteStream>): ScanVisitor {
  const ensureParent = (full: string): void => void mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
  return {
    async file(path, mode, body) {
      const full = join(root, path);
      ensureParent(full);
      // 'wx' = O_CREAT|O_EXCL: fails on anything already there, symlinks included.
      const out = createWriteStream(full, { flags: 'wx', mode });
      writes.add(out);
      body.pipe(out);
      await finished(out);
      writes.delete(out);
      // The umask may have narrowed the mode; set exactly what the listing records.
      await chmod(full, mode);
    },
    directory(path) {
      mkdirSync(join(root, path), { recursive: true, mode: 0o755 });
    },
    symlink(path, linkTarget) {
      const full = join(root, path);
      ensureParent(full);
      symlinkSync(linkTarget, full);
    },
    async hardlink(path, linkTarget, targetDone) {
      await targetDone;
      const full = join(root, path);
      ensureParent(full);
      await link(join(root, linkTarget), full);
    },
  };
}
