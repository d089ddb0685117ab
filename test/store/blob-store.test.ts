import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { BlobNotFoundError, FsBlobStore, resolveBlobDir } from '../../src/store/blobs/index.js';

t.test('FsBlobStore is content-addressed, atomic and bounded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'computalot-blobs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const blobs = new FsBlobStore(dir);
  const content = Buffer.from('hello blobs');
  const sha = createHash('sha256').update(content).digest('hex');

  const info = await blobs.put(Readable.from([content.subarray(0, 5), content.subarray(5)]));
  t.same(info, { sha256: sha, size: content.length });
  t.equal(blobs.localPath(sha), join(dir, sha.slice(0, 2), sha));
  t.same(await readFile(join(dir, sha.slice(0, 2), sha)), content);
  t.same(await blobs.put(Readable.from([content])), info, 'the same bytes twice are one blob');
  t.ok(await blobs.has(sha));

  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(sha)) chunks.push(chunk as Buffer);
  t.same(Buffer.concat(chunks), content);

  await t.rejects(blobs.put(Readable.from([Buffer.alloc(100)]), { maxBytes: 10 }), { code: 'BLOB_TOO_LARGE' });
  t.same(await readdir(join(dir, 'tmp')), [], 'an oversized put leaves no temp file');

  t.equal(await blobs.delete(sha), true);
  t.equal(await blobs.delete(sha), false);
  await t.rejects(blobs.get(sha), BlobNotFoundError);
  t.equal(await blobs.has('../../etc/passwd'), false, 'malformed names never touch the filesystem');
  t.equal(blobs.localPath('nope'), null);
});

t.test('resolveBlobDir defaults under the data dir', async (t) => {
  t.equal(resolveBlobDir({ data_dir: '/var/lib/computalot' }), '/var/lib/computalot/blobs');
  t.equal(resolveBlobDir({ data_dir: '/var/lib/computalot', blob_dir: '/mnt/shared/blobs' }), '/mnt/shared/blobs');
});
