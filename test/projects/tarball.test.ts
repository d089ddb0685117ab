import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { diffFileLists, extractTarball, listTarball, type TarballLimits } from '../../src/projects/index.js';
import { gzipBomb, gzipTar, packDirectory, streamOf, type TestEntry } from '../helpers/tarballs.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'computalot-tarball-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Extracting `archive` into `<root>/cache/rev` must fail with `code`, leaving `<root>` exactly as it was. */
async function rejectsWithoutWriting(t: Test, archive: Buffer, code: string, entry?: string): Promise<void> {
  const root = await tempDir(t);
  const error = await extractTarball(streamOf(archive), join(root, 'cache', 'rev')).then(
    () => null,
    (e: unknown) => e as { code: string; details?: Record<string, unknown> },
  );
  t.equal(error?.code, code, `extraction rejected with ${code}`);
  if (entry !== undefined) t.equal(error?.details?.entry, entry, 'names the entry');
  t.same(await readdir(root), ['cache'], 'nothing beside the cache directory');
  t.same(await readdir(join(root, 'cache')), [], 'no staging or partial directory left');
  const listed = await listTarball(streamOf(archive)).then(
    () => null,
    (e: unknown) => (e as { code: string }).code,
  );
  t.equal(listed, code, 'listing rejects it the same way');
}

t.test('a normal project lists and extracts; the content hash ignores packing details', async (t) => {
  const dir = await tempDir(t);
  const files = { 'a.txt': 'alpha\n', 'src/b.py': 'print(1)\n', 'src/deep/c.json': '{}' };
  const packed = packDirectory(join(dir, 'p1'), files);
  const listing = await listTarball(streamOf(packed));
  t.same(listing.files.map((f) => f.path), ['a.txt', 'src/b.py', 'src/deep/c.json']);
  t.same(listing.directories, ['src', 'src/deep']);
  t.equal(listing.totalBytes, 6 + 9 + 2);
  t.match(listing.contentHash, /^[0-9a-f]{64}$/);

  // Same files written as raw entries: no directory entries, other order, `./` and `//` in paths, other mtimes.
  const relisted = await listTarball(
    streamOf(gzipTar([{ path: 'src/deep/c.json', body: '{}' }, { path: './a.txt', body: 'alpha\n' }, { path: 'src//b.py', body: 'print(1)\n' }])),
  );
  t.equal(relisted.contentHash, listing.contentHash, 're-packing the same files gives the same hash');

  const changedMode = await listTarball(streamOf(gzipTar([{ path: 'src/deep/c.json', body: '{}' }, { path: 'a.txt', body: 'alpha\n', mode: 0o755 }, { path: 'src/b.py', body: 'print(1)\n' }])));
  t.not(changedMode.contentHash, listing.contentHash, 'an executable bit changes the hash');

  const target = join(dir, 'cache', 'rev');
  const extracted = await extractTarball(streamOf(packed), target);
  t.equal(extracted.contentHash, listing.contentHash);
  t.equal(await readFile(join(target, 'src/deep/c.json'), 'utf8'), '{}');
  t.equal((await lstat(target)).mode & 0o777, 0o755, 'revision directory is readable by the sandbox');
  t.same(await readdir(join(dir, 'cache')), ['rev'], 'staging directory renamed away');
});

t.test('modes are normalized: setuid, setgid, sticky and world-write never survive', async (t) => {
  const dir = await tempDir(t);
  const archive = gzipTar([
    { path: 'suid', body: '#!/bin/sh\n', mode: 0o4777 },
    { path: 'plain', body: 'x', mode: 0o2666 },
    { path: 'sticky', type: 'Directory', mode: 0o1777 },
  ]);
  const listing = await extractTarball(streamOf(archive), join(dir, 'rev'));
  t.same(listing.files.map((f) => [f.path, f.mode]), [['plain', 0o644], ['suid', 0o755]]);
  t.equal((await lstat(join(dir, 'rev', 'suid'))).mode & 0o7777, 0o755);
  t.equal((await lstat(join(dir, 'rev', 'plain'))).mode & 0o7777, 0o644);
  t.equal((await lstat(join(dir, 'rev', 'sticky'))).mode & 0o7777, 0o755);
});

t.test('links that stay inside the tree are kept', async (t) => {
  const dir = await tempDir(t);
  const archive = gzipTar([
    { path: 'lib/real.py', body: 'x = 1\n' },
    { path: 'bin/tool', type: 'SymbolicLink', linkpath: '../lib/real.py' },
    { path: 'lib/copy.py', type: 'Link', linkpath: 'lib/real.py' },
    { path: 'here', type: 'SymbolicLink', linkpath: '.' },
  ]);
  const listing = await extractTarball(streamOf(archive), join(dir, 'rev'));
  t.same(listing.symlinks, [{ path: 'bin/tool', target: '../lib/real.py' }, { path: 'here', target: '.' }]);
  const copy = listing.files.find((f) => f.path === 'lib/copy.py');
  t.equal(copy?.sha256, listing.files.find((f) => f.path === 'lib/real.py')?.sha256, 'a hardlink lists its target content');
  t.equal(await readlink(join(dir, 'rev', 'bin/tool')), '../lib/real.py');
  t.equal(await readFile(join(dir, 'rev', 'lib/copy.py'), 'utf8'), 'x = 1\n');
});

t.test('hostile archives are refused and nothing is written outside the cache', async (t) => {
  const cases: [string, TestEntry[], string][] = [
    ['path traversal ../x', [{ path: '../x', body: 'pwned' }], '../x'],
    ['nested traversal', [{ path: 'a/../../x', body: 'pwned' }], 'a/../../x'],
    ['absolute path /etc/x', [{ path: '/etc/x', body: 'pwned' }], '/etc/x'],
    ['absolute symlink link -> /etc, then link/passwd', [{ path: 'link', type: 'SymbolicLink', linkpath: '/etc' }, { path: 'link/passwd', body: 'root::0:0' }], 'link'],
    ['relative symlink escaping', [{ path: 'link', type: 'SymbolicLink', linkpath: '../../etc' }], 'link'],
    ['write through an inside symlink', [{ path: 'sub', type: 'Directory' }, { path: 'link', type: 'SymbolicLink', linkpath: 'sub' }, { path: 'link/x', body: 'x' }], 'link/x'],
    ['chained symlinks escaping (a -> ., b -> a/..)', [{ path: 'a', type: 'SymbolicLink', linkpath: '.' }, { path: 'b', type: 'SymbolicLink', linkpath: 'a/..' }], 'b'],
    ['hardlink to /etc/passwd', [{ path: 'h', type: 'Link', linkpath: '/etc/passwd' }], 'h'],
    ['hardlink to ../x', [{ path: 'h', type: 'Link', linkpath: '../x' }], 'h'],
    ['hardlink to a later or missing file', [{ path: 'h', type: 'Link', linkpath: 'later' }, { path: 'later', body: 'x' }], 'h'],
    ['character device', [{ path: 'null', type: 'CharacterDevice' }], 'null'],
    ['fifo', [{ path: 'pipe', type: 'FIFO' }], 'pipe'],
    ['duplicate file', [{ path: 'x', body: '1' }, { path: 'x', body: '2' }], 'x'],
    ['file then path through it', [{ path: 'x', body: '1' }, { path: 'x/y', body: '2' }], 'x/y'],
  ];
  for (const [name, entries, entry] of cases) {
    await t.test(name, (t) => rejectsWithoutWriting(t, gzipTar(entries), 'unsafe_tarball', entry));
  }
});

t.test('limits: entries, single file size, total size', async (t) => {
  const limits: TarballLimits = { maxEntries: 3, maxTotalBytes: 100, maxFileBytes: 60, maxPathBytes: 64 };
  const cases: [string, TestEntry[], string][] = [
    ['too many entries', [1, 2, 3, 4].map((i) => ({ path: `f${i}`, body: 'x' })), 'max_entries'],
    ['file too large', [{ path: 'big', body: Buffer.alloc(61) }], 'max_file_bytes'],
    ['total too large', [{ path: 'a', body: Buffer.alloc(60) }, { path: 'b', body: Buffer.alloc(60) }], 'max_total_bytes'],
  ];
  for (const [name, entries, limit] of cases) {
    const error = await listTarball(streamOf(gzipTar(entries)), { limits }).catch((e: unknown) => e as { code: string; details: { limit?: string } });
    t.match(error, { code: 'unsafe_tarball', details: { limit } }, name);
  }
  const long = await listTarball(streamOf(gzipTar([{ path: `${'d/'.repeat(40)}f`, body: 'x' }])), { limits }).catch((e: unknown) => e as { code: string });
  t.match(long, { code: 'unsafe_tarball' }, 'path too long');
});

t.test('a 2 GB gzip bomb stops early and writes nothing', async (t) => {
  // 8 × 256 MiB of zeros: each entry is under the single-file limit, so only streamed counting can stop it.
  const bomb = gzipBomb();
  t.ok(bomb.length < 4 * 1024 * 1024, `bomb is small on the wire (${bomb.length} bytes)`);
  const started = Date.now();
  await rejectsWithoutWriting(t, bomb, 'unsafe_tarball');
  t.ok(Date.now() - started < 10_000, `rejected without inflating the whole thing (${Date.now() - started} ms)`);
  const error = await listTarball(streamOf(bomb)).catch((e: unknown) => e as { details: { limit: string } });
  t.match(error, { details: { limit: 'compression_ratio' } });

  // One 2 GiB file: refused at its header, before any body byte.
  const single = gzipBomb(1, 2 * 1024 * 1024 * 1024);
  const refused = await listTarball(streamOf(single)).catch((e: unknown) => e as { details: { limit: string } });
  t.match(refused, { details: { limit: 'max_file_bytes' } });
});

t.test('bodies that are not gzip tarballs are invalid_tarball with message "invalid tarball"', async (t) => {
  const cases: [string, Buffer][] = [
    ['gzip of text', gzipSync(Buffer.from('hello, this is not a tar archive '.repeat(40)))],
    ['plain text', Buffer.from('just text')],
    ['empty body', Buffer.alloc(0)],
    ['truncated gzip', gzipTar([{ path: 'a', body: 'x'.repeat(10_000) }]).subarray(0, 40)],
  ];
  for (const [name, body] of cases) {
    const error = await listTarball(Readable.from(body.length === 0 ? [] : [body])).catch((e: unknown) => e as { code: string; message: string });
    t.match(error, { code: 'invalid_tarball', message: 'invalid tarball' }, name);
  }
});

t.test('diffFileLists compares by path and sha256', async (t) => {
  const diff = diffFileLists(
    [
      { path: 'a', sha256: '1' },
      { path: 'b', sha256: '2' },
      { path: 'c', sha256: '3' },
    ],
    [
      { path: 'a', sha256: '1' },
      { path: 'c', sha256: '9' },
      { path: 'd', sha256: '4' },
    ],
  );
  t.same(diff, { added_files: ['d'], removed_files: ['b'], changed_files: ['c'] });
});
