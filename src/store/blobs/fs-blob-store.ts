/**
 * `BlobStore` on a local (or shared) directory: `<dir>/<aa>/<sha256>`, where
 * `aa` is the first two hex digits (256 fan-out directories keep listings
 * short). Writes go to `<dir>/tmp/` first, are fsynced, then renamed into
 * place, so a reader never sees a partial blob and a crash leaves only temp
 * files behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, BlobTooLargeError, isBlobName, type BlobInfo, type BlobPutOptions, type BlobStore } from './blob-store.js';

export class FsBlobStore implements BlobStore {
  private readonly dir: string;

  /** `dir` is created on first put; see `resolveBlobDir` for the configured location. */
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(content: Readable, options: BlobPutOptions = {}): Promise<BlobInfo> {
    const tmpDir = join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > max) return callback(new BlobTooLargeError(max));
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    // Not `pipeline(content, …)`: on overflow that would destroy `content` — for an HTTP
    // request, the connection — before the caller could answer 413. Unpipe instead.
    const written = pipeline(counter, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    const onSourceError = (error: Error): void => void counter.destroy(error);
    content.once('error', onSourceError);
    content.pipe(counter);
    try {
      await written.finally(() => {
        content.unpipe(counter);
        content.off('error', onSourceError);
      });
      await fsyncPath(tmp);
      const sha256 = hash.digest('hex');
      const target = this.pathOf(sha256);
      await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
      // Same name = same bytes, so replacing an existing blob is harmless.
      await rename(tmp, target);
      await fsyncPath(join(this.dir, sha256.slice(0, 2)));
      return { sha256, size };
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async get(sha256: string): Promise<Readable> {
    if (!(await this.has(sha256))) throw new BlobNotFoundError(sha256);
    return createReadStream(this.pathOf(sha256));
  }

  async has(sha256: string): Promise<boolean> {
    if (!isBlobName(sha256)) return false;
    return access(this.pathOf(sha256)).then(
      () => true,
      () => false,
    );
  }

  async delete(sha256: string): Promise<boolean> {
    if (!isBlobName(sha256)) return false;
    return unlink(this.pathOf(sha256)).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
  }

  localPath(sha256: string): string | null {
    return isBlobName(sha256) ? this.pathOf(sha256) : null;
  }

  private pathOf(sha256: string): string {
    return join(this.dir, sha256.slice(0, 2), sha256);
  }
}

/** fsync a file or directory by path (directories make a rename durable). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
