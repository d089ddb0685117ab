/**
 * The streaming core shared by listing and extraction: gzip → byte budget →
 * tar parser, with every entry checked against the limits and the tree rules
 * before anything sees it. Both callers therefore enforce exactly the same
 * policy; extraction only adds "write it to disk".
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { isComputalotError } from '../../shared/errors.js';
import { InvalidTarballError, UnsafeTarballError } from '../errors.js';
import { normalizeEntryPath, type SafeRelativePath } from './entry-path.js';
import { DECOMPRESSED_OVERHEAD_PER_ENTRY, DECOMPRESSED_SLACK_BYTES, RATIO_CHECK_AFTER_BYTES, type TarballLimits } from './limits.js';
import { normalizeFileMode, TarTree, type TreeFile } from './tree.js';

/** What extraction does with each accepted entry; listing passes no visitor. */
export interface ScanVisitor {
  /** A regular file: consume `body` (the scanner hashes it in parallel). May finish later. */
  file(path: SafeRelativePath, mode: number, body: ReadEntry): Promise<void>;
  directory(path: SafeRelativePath): void;
  symlink(path: SafeRelativePath, target: string): void;
  /** `target` is an earlier regular file of the archive; wait for `targetDone` before linking. */
  hardlink(path: SafeRelativePath, target: SafeRelativePath, targetDone: Promise<void>): Promise<void>;
}

/** The checked tree plus counters; files carry sizes and sha256 of their content. */
export interface ScanResult {
  readonly tree: TarTree;
  readonly entryCount: number;
  readonly totalBytes: number;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Reads a gzip tarball from `source`, checking every entry. Throws
 * {@link InvalidTarballError} for a body that is not a gzip tarball and
 * {@link UnsafeTarballError} for hostile entries or exceeded limits; stops
 * reading at the first problem.
 */
export async function scanTarball(source: Readable, limits: TarballLimits, visitor?: ScanVisitor): Promise<ScanResult> {
  const tree = new TarTree();
  const pending: Promise<void>[] = [];
  const fileDone = new Map<SafeRelativePath, Promise<void>>();
  const hardlinks: [SafeRelativePath, SafeRelativePath][] = [];
  let failure: Error | null = null;
  // Read through a function: TypeScript cannot see the callbacks' assignments and would narrow `failure` to null.
  const failed = (): Error | null => failure;
  let entryCount = 0;
  let totalBytes = 0;
  let budget = DECOMPRESSED_SLACK_BYTES;

  const reject = (entry: string | null, reason: string, details?: Record<string, unknown>): void => {
    failure ??= new UnsafeTarballError(entry, reason, details);
  };

  const onEntry = (entry: ReadEntry): void => {
    if (failure !== null) return void entry.resume();
    entryCount += 1;
    budget += DECOMPRESSED_OVERHEAD_PER_ENTRY + Math.ceil((entry.size ?? 0) / 512) * 512;
    const raw = entry.path;
    if (entryCount > limits.maxEntries) return void (reject(null, `more than ${limits.maxEntries} entries`, { limit: 'max_entries' }), entry.resume());
    const normalized = normalizeEntryPath(raw, limits.maxPathBytes);
    if (!normalized.ok) return void (reject(raw, normalized.reason), entry.resume());
    const path = normalized.path;
    const kind = FILE_TYPES.has(entry.type) ? 'file' : entry.type === 'Directory' ? 'dir' : entry.type === 'SymbolicLink' ? 'symlink' : entry.type === 'Link' ? 'hardlink' : null;
    if (kind === null) return void (reject(raw, `unsupported entry type ${entry.type} (only files, directories and links)`), entry.resume());
    if (path === '') {
      // `./` itself: harmless for a directory, meaningless for anything else.
      if (kind !== 'dir') reject(raw, 'entry names the archive root');
      return void entry.resume();
    }
    const conflict = tree.check(path, kind === 'hardlink' ? 'file' : kind);
    if (conflict !== null) return void (reject(raw, conflict), entry.resume());

    if (kind === 'dir') {
      tree.add(path, { kind: 'dir' });
      visitor?.directory(path);
      return void entry.resume();
    }
    if (kind === 'symlink') {
      const target = entry.linkpath ?? '';
      if (target === '' || target.includes('\0')) return void (reject(raw, 'symlink with an empty or invalid target'), entry.resume());
      if (target.startsWith('/')) return void (reject(raw, `symlink target "${target}" is absolute (links must stay inside the project)`), entry.resume());
      tree.add(path, { kind: 'symlink', target });
      visitor?.symlink(path, target);
      return void entry.resume();
    }
    if (kind === 'hardlink') {
      const target = normalizeEntryPath(entry.linkpath ?? '', limits.maxPathBytes);
      if (!target.ok) return void (reject(raw, `hardlink target "${entry.linkpath ?? ''}": ${target.reason}`), entry.resume());
      const targetNode = tree.nodes.get(target.path);
      const done = fileDone.get(target.path);
      if (targetNode?.kind !== 'file' || done === undefined) {
        return void (reject(raw, `hardlink target "${target.path}" is not an earlier regular file of the archive`), entry.resume());
      }
      tree.add(path, { kind: 'file', mode: targetNode.mode, size: 0, sha256: '' });
      hardlinks.push([path, target.path]);
      if (visitor) pending.push(handled(visitor.hardlink(path, target.path, done)));
      return void entry.resume();
    }

    const size = entry.size ?? 0;
    if (size > limits.maxFileBytes) return void (reject(raw, `file larger than ${limits.maxFileBytes} bytes`, { limit: 'max_file_bytes' }), entry.resume());
    totalBytes += size;
    if (totalBytes > limits.maxTotalBytes) {
      return void (reject(raw, `unpacked size exceeds ${limits.maxTotalBytes} bytes`, { limit: 'max_total_bytes' }), entry.resume());
    }
    const node: TreeFile = { kind: 'file', mode: normalizeFileMode(entry.mode), size, sha256: '' };
    tree.add(path, node);
    const hash = createHash('sha256');
    entry.on('data', (chunk: Buffer) => hash.update(chunk));
    const hashed = new Promise<void>((resolve) => entry.on('end', () => resolve()));
    const written = visitor ? visitor.file(path, node.mode, entry) : (entry.resume(), Promise.resolve());
    const done = Promise.all([hashed, written]).then(() => {
      node.sha256 = hash.digest('hex');
    });
    fileDone.set(path, done);
    pending.push(handled(done));
  };

  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024, onReadEntry: onEntry });
  parser.on('error', (error: Error) => {
    failure ??= new InvalidTarballError(`not a tar archive: ${error.message}`);
  });
  const parsed = new Promise<void>((resolve) => parser.on('end', () => resolve()));

  let decompressed = 0;
  const compressed = { bytes: 0 };
  const maxRatio = limits.maxCompressionRatio ?? Number.POSITIVE_INFINITY;
  try {
    await pipeline(source, gzipMagicCheck(compressed), createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        decompressed += chunk.length;
        if (decompressed > budget) {
          reject(null, 'decompressed data runs past what the archive entries account for (gzip bomb or trailing data)', {
            limit: 'decompressed_bytes',
          });
        }
        // gunzip reads ahead, so `compressed` is an over-count and the ratio an under-estimate: never a false alarm from buffering.
        if (decompressed > RATIO_CHECK_AFTER_BYTES && decompressed > compressed.bytes * maxRatio) {
          reject(null, `compression ratio above ${maxRatio}:1 (gzip bomb)`, { limit: 'compression_ratio' });
        }
        const before = failed();
        if (before !== null) throw before;
        if (!parser.write(chunk)) await new Promise<void>((resolve) => parser.once('drain', resolve));
        const after = failed();
        if (after !== null) throw after;
      }
      parser.end();
      await parsed;
    });
  } catch (error) {
    const first = failed();
    if (first !== null) throw first;
    if (isComputalotError(error)) throw error;
    if (isZlibError(error)) throw new InvalidTarballError(`corrupt gzip: ${(error as Error).message}`, { cause: error });
    throw error;
  }
  await Promise.all(pending);
  const late = failed();
  if (late !== null) throw late;
  for (const [path, target] of hardlinks) {
    const link = tree.nodes.get(path);
    const source = tree.nodes.get(target);
    if (link?.kind === 'file' && source?.kind === 'file') Object.assign(link, { size: source.size, sha256: source.sha256 });
  }
  const escaping = tree.findEscapingSymlink();
  if (escaping !== null) throw new UnsafeTarballError(escaping.path, escaping.reason);
  return { tree, entryCount, totalBytes };
}

/**
 * Marks a promise as handled: after a failure the scan throws without waiting
 * for writes in flight (their bodies will never end), and their later
 * rejections must not surface as unhandled. `Promise.all` still sees them.
 */
function handled(promise: Promise<void>): Promise<void> {
  promise.catch(() => undefined);
  return promise;
}

/** Rejects a body that does not start with the gzip magic bytes (1f 8b), or is empty; counts compressed bytes into `counter`. */
function gzipMagicCheck(counter: { bytes: number }): Transform {
  let head = Buffer.alloc(0);
  let checked = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      counter.bytes += chunk.length;
      if (checked) return callback(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < 2) return callback();
      checked = true;
      if (head[0] !== 0x1f || head[1] !== 0x8b) return callback(new InvalidTarballError('body is not gzip-compressed'));
      callback(null, head);
    },
    flush(callback) {
      if (!checked) return callback(new InvalidTarballError(head.length === 0 ? 'empty body' : 'body is not gzip-compressed'));
      callback();
    },
  });
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
