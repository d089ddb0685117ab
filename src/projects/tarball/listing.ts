/**
 * The listing of a project tarball — what push-time validation, the revision
 * record and `tarball_diff` work from — and its content hash.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DEFAULT_TARBALL_LIMITS, type TarballLimits } from './limits.js';
import { scanTarball, type ScanResult, type ScanVisitor } from './scan.js';

/** A regular file of the tarball (hardlinks appear as files with their target's content). */
export interface TarballFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Normalized: 0o755 (executable) or 0o644. */
  readonly mode: number;
}

export interface TarballSymlink {
  readonly path: string;
  readonly target: string;
}

/** Everything known about a tarball's content, sorted by path. */
export interface TarballListing {
  readonly files: readonly TarballFile[];
  readonly symlinks: readonly TarballSymlink[];
  /** Every directory, explicit or implied by a deeper path. */
  readonly directories: readonly string[];
  readonly entryCount: number;
  /** Sum of file sizes once unpacked. */
  readonly totalBytes: number;
  /** See {@link contentHashOf}. */
  readonly contentHash: string;
}

/** Options of {@link listTarball}. */
export interface ListTarballOptions {
  readonly limits?: TarballLimits;
  /** Files whose content to keep (the manifest, the Dockerfile); each at most `maxCaptureBytes`. */
  readonly capture?: (path: string) => boolean;
  /** Default 1 MiB; larger captured files are listed but not kept. */
  readonly maxCaptureBytes?: number;
}

/** A listing plus the content of the captured files. */
export interface TarballListingWithContent extends TarballListing {
  readonly captured: ReadonlyMap<string, Buffer>;
}

/**
 * Lists a gzip tarball without writing anything, under the same limits and
 * checks as extraction (push-time validation).
 */
export async function listTarball(source: Readable, options: ListTarballOptions = {}): Promise<TarballListingWithContent> {
  const captured = new Map<string, Buffer>();
  const { capture } = options;
  const maxCapture = options.maxCaptureBytes ?? 1024 * 1024;
  const visitor: ScanVisitor | undefined =
    capture === undefined
      ? undefined
      : {
          async file(path, _mode, body) {
            if (!capture(path) || (body.size ?? 0) > maxCapture) return void body.resume();
            const chunks: Buffer[] = [];
            body.on('data', (chunk: Buffer) => chunks.push(chunk));
            await new Promise<void>((resolve) => body.on('end', () => resolve()));
            captured.set(path, Buffer.concat(chunks));
          },
          directory: () => undefined,
          symlink: () => undefined,
          hardlink: async () => undefined,
        };
  return { ...listingOf(await scanTarball(source, options.limits ?? DEFAULT_TARBALL_LIMITS, visitor)), captured };
}

/** Turns a finished scan into a listing. */
export function listingOf(scan: ScanResult): TarballListing {
  const files: TarballFile[] = [];
  const symlinks: TarballSymlink[] = [];
  const directories: string[] = [];
  for (const [path, node] of scan.tree.nodes) {
    if (node.kind === 'file') files.push({ path, size: node.size, sha256: node.sha256, mode: node.mode });
    else if (node.kind === 'symlink') symlinks.push({ path, target: node.target });
    else directories.push(path);
  }
  files.sort(byPath);
  symlinks.sort(byPath);
  directories.sort();
  return { files, symlinks, directories, entryCount: scan.entryCount, totalBytes: scan.totalBytes, contentHash: contentHashOf(files, symlinks, directories) };
}

/**
 * sha256 over the sorted `[path, sha256, mode]` triples of the tree: files as
 * `[path, sha256(content), "755"|"644"]`, symlinks as `[path, sha256(target),
 * "symlink"]`, empty directories as `[path, "", "dir"]`, serialized as one JSON
 * array. Only content counts — not entry order, timestamps, owners, the
 * compression level, or whether the archive lists `./` and parent directories —
 * so re-packing the same files gives the same hash.
 */
export function contentHashOf(files: readonly TarballFile[], symlinks: readonly TarballSymlink[], directories: readonly string[]): string {
  const nonEmpty = new Set<string>();
  for (const path of [...files.map((f) => f.path), ...symlinks.map((l) => l.path), ...directories]) {
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) nonEmpty.add(path.slice(0, slash));
  }
  const triples: [string, string, string][] = [
    ...files.map((f): [string, string, string] => [f.path, f.sha256, f.mode.toString(8)]),
    ...symlinks.map((l): [string, string, string] => [l.path, sha256Hex(l.target), 'symlink']),
    ...directories.filter((d) => !nonEmpty.has(d)).map((d): [string, string, string] => [d, '', 'dir']),
  ];
  triples.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sha256Hex(JSON.stringify(triples));
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function byPath(a: { readonly path: string }, b: { readonly path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
