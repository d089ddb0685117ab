/**
 * Builds tar archives byte by byte for tests, including hostile ones that
 * `tar czf` refuses to produce (`../x`, absolute paths, links out of the tree,
 * devices), plus a gzip bomb made of repeated gzip members so building it
 * costs one small compression, not 2 GB of deflate.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';

/** One archive entry; `body` only for files. */
export interface TestEntry {
  readonly path: string;
  readonly type?: HeaderData['type'];
  readonly body?: string | Buffer;
  readonly linkpath?: string;
  readonly mode?: number;
  /** Declared size when it differs from the body (bombs). */
  readonly size?: number;
}

/** The 512-byte header of `entry`. */
export function tarHeader(entry: TestEntry): Buffer {
  const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : entry.body;
  const type = entry.type ?? 'File';
  const header = new Header({
    path: entry.path,
    type,
    size: entry.size ?? body?.length ?? 0,
    mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
    mtime: new Date(0),
    uid: 0,
    gid: 0,
    ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
  });
  const block = Buffer.alloc(512);
  header.encode(block);
  return block;
}

/** An uncompressed tar of `entries`, with the end-of-archive blocks. */
export function rawTar(entries: readonly TestEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(tarHeader(entry));
    const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : entry.body;
    if (body !== undefined && body.length > 0) {
      parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** gzip(tar(entries)). */
export function gzipTar(entries: readonly TestEntry[]): Buffer {
  return gzipSync(rawTar(entries));
}

/**
 * A gzip bomb: `count` files of `fileBytes` zeros each, ~2 MB compressed for
 * 2 GB unpacked. Built from concatenated gzip members (valid gzip; Node's
 * gunzip reads them as one stream), so only one 64 MiB chunk is ever deflated.
 */
export function gzipBomb(count = 8, fileBytes = 256 * 1024 * 1024): Buffer {
  const chunkBytes = 64 * 1024 * 1024;
  const zeros = gzipSync(Buffer.alloc(chunkBytes), { level: 9 });
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i += 1) {
    parts.push(gzipSync(tarHeader({ path: `zeros-${i}.bin`, size: fileBytes })));
    for (let written = 0; written < fileBytes; written += chunkBytes) parts.push(zeros);
  }
  parts.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(parts);
}

/** Writes `files` under `dir` and returns `tar czf - -C dir .` (the reference's `tar czf ../code.tar.gz .`). */
export function packDirectory(dir: string, files: Readonly<Record<string, string>>): Buffer {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return execFileSync('tar', ['czf', '-', '-C', dir, '.'], { maxBuffer: 64 * 1024 * 1024 });
}

/** A readable of `buffer`, in 64 KiB chunks like a network body. */
export function streamOf(buffer: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; offset += 64 * 1024) chunks.push(buffer.subarray(offset, offset + 64 * 1024));
  return Readable.from(chunks);
}

/** The reference's Journey 1 project: Dockerfile, minimal manifest, job.py. */
export const JOURNEY_PROJECT: Readonly<Record<string, string>> = {
  Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\n',
  'computalot.project.json': JSON.stringify(
    {
      version: 1,
      runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace' },
      entrypoint: { command: ['python', 'job.py'] },
    },
    null,
    2,
  ),
  'job.py': [
    'import json, os',
    'payload = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))',
    'result = {"status": "ok", "source": "getting-started"}',
    'json.dump(result, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))',
    '',
  ].join('\n'),
};
