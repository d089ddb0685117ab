import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ProjectRegistry, type ActiveRevision } from '../../src/projects/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { EmbeddedStore } from '../../src/store/index.js';

async function registry(t: Test): Promise<{ projects: ProjectRegistry; clock: { now: number } }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'computalot-registry-'));
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4, fsync: 'batch' });
  t.teardown(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const clock = { now: Date.parse('2026-03-12T14:30:00Z') };
  return { projects: new ProjectRegistry({ store, logger: silentLogger(), now: () => clock.now }), clock };
}

function revision(contentHash: string, files: [string, string][] = [['job.py', 'a']]): ActiveRevision {
  return {
    content_hash: contentHash,
    tarball_sha256: contentHash.padEnd(64, '0'),
    size: 100,
    unpacked_size: 10,
    pushed_at: '2026-03-12T14:30:00.000Z',
    manifest: {
      version: 1,
      runtime: { kind: 'oci', sandbox: 'gvisor', workdir: '/workspace', init: { commands: [] }, services: [] },
      entrypoint: { command: ['python', 'job.py'] },
      build: { context: '.', args: {} },
      validation: { executables: [], files: [], commands: [] },
      data_sources: [],
      cache_mounts: [],
    },
    build_plan: { version: 1, dockerfile: 'Dockerfile', context: '.', base_image: 'python:3.11-slim', stage: null, args: {}, env: {}, workdir: '/workspace', shell: ['/bin/sh', '-c'], steps: [], ignored: [] },
    files: files.map(([path, sha256]) => ({ path, sha256, size: 1, mode: 0o644 })),
  };
}

t.test('a stuck init expires after setup_timeout_s and no longer blocks pushes', async (t) => {
  const { projects, clock } = await registry(t);
  await projects.create('acc_1', { name: 'p', remote_dir: '/root/p', setup_timeout_s: 60 });
  await projects.publishRevision('acc_1', 'p', revision('h1'));
  await projects.requestInit('acc_1', 'p');
  await t.rejects(projects.publishRevision('acc_1', 'p', revision('h2')), { code: 'project_busy' });
  clock.now += 61_000;
  const status = projects.status(await projects.get('acc_1', 'p'));
  t.match(status, { init_state: 'failed', ready_for_jobs: false, status_message: /did not finish within setup_timeout_s \(60 s\)/ });
  const published = await projects.publishRevision('acc_1', 'p', revision('h2', [['job.py', 'b']]));
  t.same(published.tarball_diff, { added_files: [], removed_files: [], changed_files: ['job.py'] });
});

t.test('node reports aggregate: preparing → initializing, any ready → ready, all failed → failed', async (t) => {
  const { projects } = await registry(t);
  await projects.create('acc_1', { name: 'p', remote_dir: '/root/p' });
  await projects.publishRevision('acc_1', 'p', revision('h1'));
  await projects.recordNodeState('acc_1', 'p', 'w1', 'h1', 'preparing', null);
  t.equal((await projects.get('acc_1', 'p')).init_state, 'initializing', 'on-demand preparation shows as initializing');
  await projects.recordNodeState('acc_1', 'p', 'w1', 'h1', 'failed', 'init command "sync" exited 1');
  t.match(projects.status(await projects.get('acc_1', 'p')), { init_state: 'failed', status_message: /exited 1/ });
  await projects.recordNodeState('acc_1', 'p', 'w2', 'h1', 'ready', null);
  t.match(projects.status(await projects.get('acc_1', 'p')), { init_state: 'ready', ready_for_jobs: true, status_message: /prepared on 1 worker$/ });
});

t.test('concurrent node reports are all kept (CAS retries)', async (t) => {
  const { projects } = await registry(t);
  await projects.create('acc_1', { name: 'p', remote_dir: '/root/p' });
  await projects.publishRevision('acc_1', 'p', revision('h1'));
  await Promise.all(Array.from({ length: 12 }, (_, i) => projects.recordNodeState('acc_1', 'p', `w${i}`, 'h1', 'ready', null)));
  t.equal(Object.keys((await projects.get('acc_1', 'p')).nodes).length, 12);
});

t.test('re-pushing identical content keeps readiness; revisionForDispatch', async (t) => {
  const { projects } = await registry(t);
  t.equal(await projects.revisionForDispatch('acc_1', 'p'), null, 'missing project');
  await projects.create('acc_1', { name: 'p', remote_dir: '/root/p', env: { A: '1' } });
  t.equal(await projects.revisionForDispatch('acc_1', 'p'), null, 'no revision yet');
  await projects.publishRevision('acc_1', 'p', revision('h1'));
  await projects.recordNodeState('acc_1', 'p', 'w1', 'h1', 'ready', null);
  const again = await projects.publishRevision('acc_1', 'p', revision('h1'));
  t.equal(again.record.init_state, 'ready');
  t.same(again.tarball_diff, { added_files: [], removed_files: [], changed_files: [] });
  t.match(await projects.revisionForDispatch('acc_1', 'p'), { content_hash: 'h1', env: { A: '1' }, remote_dir: '/root/p', setup_timeout_s: 600, build_plan: { base_image: 'python:3.11-slim' } });
  t.equal(await projects.revisionForDispatch('acc_2', 'p'), null, 'scoped by account');
});

t.test('a throwing hook listener never fails the request', async (t) => {
  const { projects } = await registry(t);
  await projects.create('acc_1', { name: 'p', remote_dir: '/root/p' });
  await projects.publishRevision('acc_1', 'p', revision('h1'));
  const seen: string[] = [];
  const off = projects.events.onInitRequested(() => {
    throw new Error('agent transport down');
  });
  projects.events.onInitRequested((request) => seen.push(request.contentHash));
  t.equal((await projects.requestInit('acc_1', 'p')).init_state, 'initializing');
  t.same(seen, ['h1']);
  off();
  t.equal((await projects.requestInit('acc_1', 'p')).init_state, 'initializing', 'idempotent while initializing');
  t.same(seen, ['h1'], 'no second request while one runs');
});
