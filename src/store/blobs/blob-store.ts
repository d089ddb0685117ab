/**
 * Content-addressed blob storage for project tarballs (and, later, other
 * immutable bytes). Blobs are named by the sha256 of their content, so a put
 * of the same bytes twice stores them once and readers can verify what they got.
 *
 * The filesystem implementation is the only one for now: every controller of
 * a cluster must see the same directory (one host, or a shared mount such as
 * NFS); object storage is a later implementation of this interface.
 */
import type { Readable } from 'node:stream';

/** What a put stored. */
export interface BlobInfo {
  /** Lower-case hex sha256 of the content; the blob's name. */
  readonly sha256: string;
  readonly size: number;
}

/** Options of {@link BlobStore.put}. */
export interface BlobPutOptions {
  /** Stop and throw {@link BlobTooLargeError} once more than this many bytes arrive. */
  readonly maxBytes?: number;
}

export interface BlobStore {
  /** Streams `content` into the store; resolves once it is durable. */
  put(content: Readable, options?: BlobPutOptions): Promise<BlobInfo>;
  /** The blob's bytes; throws {@link BlobNotFoundError} when absent. */
  get(sha256: string): Promise<Readable>;
  has(sha256: string): Promise<boolean>;
  /** Removes the blob; false when it was not there. */
  delete(sha256: string): Promise<boolean>;
  /** A local file path readers on this host may open directly, or null when blobs are not local files. */
  localPath(sha256: string): string | null;
}

/** No blob with that name. */
export class BlobNotFoundError extends Error {
  readonly code = 'BLOB_NOT_FOUND';
  constructor(readonly sha256: string) {
    super(`blob ${sha256} not found`);
    this.name = 'BlobNotFoundError';
  }
}

/** The content passed `maxBytes`; nothing was stored. */
export class BlobTooLargeError extends Error {
  readonly code = 'BLOB_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`blob exceeds ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

/** True for a well-formed blob name; anything else never touches the filesystem. */
export function isBlobName(sha256: string): boolean {
  return /^[0-9a-f]{64}$/.test(sha256);
}
