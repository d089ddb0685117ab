import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { buildGateway, type ErrorBody, type GatewayInstance } from '../../src/gateway/index.js';
import type { ProjectView } from '../../src/gateway/schemas/projects.schema.js';
import { ProjectRegistry, type InitRequest, type InvalidateNotice, type ProjectStatusDetails, type PushResult } from '../../src/projects/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { FsBlobStore } from '../../src/store/blobs/index.js';
import { bearer, makeTestCredentials } from '../helpers/credentials.js';
import { gzipBomb, gzipTar, JOURNEY_PROJECT, packDirectory } from '../helpers/tarballs.js';

interface Harness {
  readonly app: GatewayInstance;
  readonly projects: ProjectRegistry;
  readonly blobDir: string;
  readonly workDir: string;
  readonly member: string;
  readonly viewer: string;
  readonly otherMember: string;
  readonly accountId: string;
  readonly inits: InitRequest[];
  readonly invalidations: InvalidateNotice[];
  pack(files: Readonly<Record<string, string>>): Buffer;
}

async function harness(t: Test): Promise<Harness> {
  const creds = await makeTestCredentials(t);
  const other = await creds.credentials.createAccount('other-account');
  const otherKey = await creds.credentials.issueApiKey(other.account.id, 'member', 'other member');
  const workDir = await mkdtemp(join(tmpdir(), 'computalot-projects-'));
  t.teardown(() => rm(workDir, { recursive: true, force: true }));
  const blobDir = join(workDir, 'blobs');
  const projects = new ProjectRegistry({ store: creds.store, logger: silentLogger() });
  const inits: InitRequest[] = [];
  const invalidations: InvalidateNotice[] = [];
  projects.events.onInitRequested((request) => inits.push(request));
  projects.events.onInvalidated((notice) => invalidations.push(notice));
  const app = buildGateway({
    logger: silentLogger(),
    version: 'test',
    readiness: () => ({ ready: true, checks: {} }),
    credentials: creds.credentials,
    projects,
    blobs: new FsBlobStore(blobDir),
  });
  await app.ready();
  t.teardown(() => app.close());
  let packs = 0;
  return {
    app,
    projects,
    blobDir,
    workDir,
    member: bearer(creds.memberToken),
    viewer: bearer(creds.viewerToken),
    otherMember: bearer(otherKey.token),
    accountId: creds.accountId,
    inits,
    invalidations,
    pack: (files) => packDirectory(join(workDir, `pack-${(packs += 1)}`), files),
  };
}

const register = (h: Harness, auth = h.member, name = 'my-ml-project') =>
  h.app.inject({
    method: 'POST',
    url: '/api/v1/projects',
    headers: { authorization: auth },
    payload: { name, remote_dir: `/root/${name}`, env: { CLICKHOUSE_HOST: 'db.internal' }, setup_timeout_s: 1200 },
  });
const push = (h: Harness, body: Buffer | Readable, auth = h.member, name = 'my-ml-project') =>
  h.app.inject({ method: 'POST', url: `/api/v1/projects/${name}/push`, headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
const get = (h: Harness, url: string, auth = h.member) => h.app.inject({ method: 'GET', url, headers: { authorization: auth } });
const post = (h: Harness, url: string, auth = h.member, payload: object = {}) => h.app.inject({ method: 'POST', url, headers: { authorization: auth }, payload });

t.test('Journey 1 steps 3–5: register, push, status', async (t) => {
  const h = await harness(t);
  const created = await register(h);
  t.equal(created.statusCode, 201);
  t.match(created.json(), { name: 'my-ml-project', remote_dir: '/root/my-ml-project', env: { CLICKHOUSE_HOST: 'db.internal' }, setup_timeout_s: 1200, active_revision: null, can_accept_new_jobs: false, init_state: 'uninitialized' });
  t.equal((await register(h)).statusCode, 409, 'same name twice is 409');

  const pushed = await push(h, h.pack(JOURNEY_PROJECT));
  t.equal(pushed.statusCode, 200, pushed.body);
  const body = pushed.json<PushResult>();
  t.match(body, { name: 'my-ml-project', content_hash: /^[0-9a-f]{64}$/, files: 3, can_accept_new_jobs: true, ready_for_jobs: false, init_state: 'uninitialized', init_status: { init_state: 'uninitialized' }, warnings: [] });
  t.notOk('tarball_diff' in body, 'no diff for a first push');
  t.ok(await new FsBlobStore(h.blobDir).has(body.tarball_sha256), 'tarball stored as a blob');

  const status = await get(h, '/api/v1/projects/my-ml-project/status');
  t.same(Object.keys(status.json()).sort(), ['can_accept_new_jobs', 'content_hash', 'init_state', 'name', 'next_action', 'ready_for_jobs', 'status_message', 'updated_at']);
  t.match(status.json(), { content_hash: body.content_hash, can_accept_new_jobs: true, ready_for_jobs: false, init_state: 'uninitialized' });

  const project = (await get(h, '/api/v1/projects/my-ml-project')).json<ProjectView>();
  t.match(project, { active_revision: { content_hash: body.content_hash, file_count: 3, build_plan: { base_image: 'python:3.11-slim', workdir: '/workspace' }, manifest: { runtime: { sandbox: 'gvisor' } } } });
  t.same((await get(h, '/api/v1/projects')).json<{ projects: ProjectView[] }>().projects.map((p) => p.name), ['my-ml-project']);

  const dispatch = await h.projects.revisionForDispatch(h.accountId, 'my-ml-project');
  t.match(dispatch, { content_hash: body.content_hash, tarball_sha256: body.tarball_sha256, remote_dir: '/root/my-ml-project', setup_timeout_s: 1200, env: { CLICKHOUSE_HOST: 'db.internal' } });
});

t.test('Journey 1 step 8: second push has tarball_diff; init, node reports, invalidate', async (t) => {
  const h = await harness(t);
  await register(h);
  const first = (await push(h, h.pack(JOURNEY_PROJECT))).json<PushResult>();
  const second = await push(h, h.pack({ ...JOURNEY_PROJECT, 'job.py': 'print("v2")\n', 'requirements.txt': 'numpy\n' }));
  t.equal(second.statusCode, 200, second.body);
  t.same(second.json<PushResult>().tarball_diff, { added_files: ['requirements.txt'], removed_files: [], changed_files: ['job.py'] });
  t.not(second.json<PushResult>().content_hash, first.content_hash);
  const hash = second.json<PushResult>().content_hash;

  const init = await post(h, '/api/v1/projects/my-ml-project/init');
  t.equal(init.statusCode, 202);
  t.match(init.json(), { init_state: 'initializing', can_accept_new_jobs: true, ready_for_jobs: false });
  t.same(h.inits, [{ accountId: h.accountId, name: 'my-ml-project', contentHash: hash, reason: 'init', workerIds: [] }]);

  const busy = await push(h, h.pack(JOURNEY_PROJECT));
  t.equal(busy.statusCode, 409, 'push while initializing is 409');
  t.match(busy.json(), { error: { code: 'project_busy', details: { init_state: 'initializing' } } });

  t.equal(await h.projects.recordNodeState(h.accountId, 'my-ml-project', 'w1', first.content_hash, 'ready', null), false, 'stale revision reports are ignored');
  await h.projects.recordNodeState(h.accountId, 'my-ml-project', 'w1', hash, 'ready', null);
  await h.projects.recordNodeState(h.accountId, 'my-ml-project', 'w2', hash, 'failed', 'pip install failed');
  const details = (await get(h, '/api/v1/projects/my-ml-project/status/details')).json<ProjectStatusDetails>();
  t.match(details, { init_state: 'ready', ready_for_jobs: true, nodes: [{ worker_id: 'w1', state: 'ready', current: true }, { worker_id: 'w2', state: 'failed', message: 'pip install failed' }] });

  // Push over a warm revision: warm workers refresh, and the response shows it.
  const third = await push(h, h.pack({ ...JOURNEY_PROJECT, 'job.py': 'print("v3")\n' }));
  const thirdHash = third.json<PushResult>().content_hash;
  t.match(third.json(), { ready_for_jobs: false, init_state: 'refreshing', init_status: { init_state: 'refreshing' } });
  t.match(h.inits[1], { reason: 'refresh', workerIds: ['w1'], contentHash: thirdHash });

  const invalidated = await post(h, '/api/v1/projects/my-ml-project/invalidate');
  t.match(invalidated.json(), { init_state: 'uninitialized', ready_for_jobs: false });
  t.same((await get(h, '/api/v1/projects/my-ml-project/status/details')).json<ProjectStatusDetails>().nodes, []);
  t.same(h.invalidations, [{ accountId: h.accountId, name: 'my-ml-project', contentHash: thirdHash, reason: 'invalidate' }]);
  t.equal((await push(h, h.pack(JOURNEY_PROJECT))).statusCode, 200, 'push works again after invalidate');
});

t.test('hostile and malformed tarballs are 422 and nothing is published', async (t) => {
  const h = await harness(t);
  await register(h);
  const cases: [string, Buffer, string][] = [
    ['path traversal', gzipTar([{ path: '../x', body: 'x' }]), 'unsafe_tarball'],
    ['absolute path', gzipTar([{ path: '/etc/x', body: 'x' }]), 'unsafe_tarball'],
    ['symlink escape', gzipTar([{ path: 'link', type: 'SymbolicLink', linkpath: '/etc' }, { path: 'link/passwd', body: 'x' }]), 'unsafe_tarball'],
    ['hardlink escape', gzipTar([{ path: 'h', type: 'Link', linkpath: '../../etc/passwd' }]), 'unsafe_tarball'],
    ['gzip bomb', gzipBomb(), 'unsafe_tarball'],
    ['gzip but not tar', gzipSync(Buffer.from('not a tar at all '.repeat(100))), 'invalid_tarball'],
  ];
  for (const [name, body, code] of cases) {
    const response = await push(h, body);
    t.equal(response.statusCode, 422, name);
    const { error } = response.json<ErrorBody>();
    t.equal(error.code, code, name);
    if (code === 'invalid_tarball') t.equal(error.message, 'invalid tarball');
  }
  t.same(await readdir(h.workDir), ['blobs'], 'nothing written beside the blob store');
  t.same(await readdir(join(h.blobDir, 'tmp')), [], 'no spooled leftovers');
  const fanOut = (await readdir(h.blobDir)).filter((name) => name !== 'tmp');
  const kept = (await Promise.all(fanOut.map((dir) => readdir(join(h.blobDir, dir))))).flat();
  t.same(kept, [], 'rejected tarballs are not kept');
  t.equal((await get(h, '/api/v1/projects/my-ml-project/status')).json<ProjectView>().content_hash, null, 'nothing published');
});

t.test('manifest problems are 422 naming the manifest path', async (t) => {
  const h = await harness(t);
  await register(h);
  const manifest = JSON.parse(JOURNEY_PROJECT['computalot.project.json'] ?? '{}') as Record<string, unknown>;
  const withManifest = (extra: Record<string, unknown>, files: Record<string, string> = {}) =>
    h.pack({ ...JOURNEY_PROJECT, ...files, 'computalot.project.json': JSON.stringify({ ...manifest, ...extra }) });
  const cases: [string, Buffer, string][] = [
    ['missing file', withManifest({ validation: { files: ['job.py', 'data.csv'] } }), 'validation.files[1]: "data.csv" is not in the tarball'],
    ['missing cwd', withManifest({ runtime: { ...(manifest.runtime as object), init: { commands: [{ label: 'sync', command: ['uv', 'sync'], cwd: 'app' }] } } }), 'runtime.init.commands[0].cwd: working directory "app" is not a directory in the tarball'],
    ['missing dockerfile', withManifest({ build: { dockerfile: 'Dockerfile.gpu' } }), 'build.dockerfile: "Dockerfile.gpu" is not in the tarball'],
    ['missing cache mount', withManifest({ runtime: { ...(manifest.runtime as object), services: [{ name: 'svc', command: ['python', '-m', 'svc'], cache_mounts: ['huggingface'] }] } }), 'runtime.services[0].cache_mounts[0]: cache mount "huggingface" is not declared in cache_mounts'],
    ['bad sandbox', withManifest({ runtime: { ...(manifest.runtime as object), sandbox: 'docker' } }), 'runtime.sandbox: expected one of'],
    ['no manifest', h.pack({ Dockerfile: 'FROM x\n', 'job.py': '' }), 'computalot.project.json: computalot.project.json is missing from the tarball root'],
    ['bad Dockerfile', withManifest({}, { Dockerfile: 'FROM python:3.11-slim\nUSER app\n' }), 'Dockerfile:2: USER is not supported'],
    ['no Dockerfile', h.pack({ 'computalot.project.json': JOURNEY_PROJECT['computalot.project.json'] ?? '', 'job.py': '' }), 'build.dockerfile: not set and there is no Dockerfile at the tarball root'],
  ];
  for (const [name, body, message] of cases) {
    const response = await push(h, body);
    t.equal(response.statusCode, 422, name);
    const { error } = response.json<ErrorBody>();
    t.ok(error.message.startsWith(message), `${name}: ${error.message}`);
  }
  const warned = await push(h, withManifest({ future_key: true }, { Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\nCMD ["python", "job.py"]\n' }));
  t.equal(warned.statusCode, 200);
  t.same(warned.json<PushResult>().warnings, ['computalot.project.json: unknown key "future_key" ignored', 'Dockerfile:4: CMD ignored (the manifest\'s entrypoint and runtime decide how tasks run)']);
});

t.test('accounts cannot see or touch each other’s projects; viewers cannot mutate', async (t) => {
  const h = await harness(t);
  await register(h);
  const missing = await get(h, '/api/v1/projects/no-such-project', h.otherMember);
  t.equal(missing.statusCode, 404);
  for (const [method, url] of [
    ['GET', '/api/v1/projects/my-ml-project'],
    ['GET', '/api/v1/projects/my-ml-project/status'],
    ['GET', '/api/v1/projects/my-ml-project/status/details'],
    ['PUT', '/api/v1/projects/my-ml-project'],
    ['DELETE', '/api/v1/projects/my-ml-project'],
    ['POST', '/api/v1/projects/my-ml-project/init'],
    ['POST', '/api/v1/projects/my-ml-project/invalidate'],
    ['POST', '/api/v1/projects/my-ml-project/push'],
  ] as const) {
    const payload = method === 'PUT' ? { setup_timeout_s: 5 } : method === 'POST' && url.endsWith('push') ? gzipTar([]) : {};
    const response = await h.app.inject({ method, url, headers: { authorization: h.otherMember }, payload });
    const expected = (await h.app.inject({ method, url: url.replace('my-ml-project', 'no-such-project'), headers: { authorization: h.otherMember }, payload })).json<ErrorBody>();
    t.equal(response.statusCode, 404, `${method} ${url}`);
    t.same(response.json(), { error: { ...expected.error, message: expected.error.message.replace('no-such-project', 'my-ml-project'), details: { name: 'my-ml-project' } } }, 'answers exactly like a missing project');
  }
  t.same((await get(h, '/api/v1/projects', h.otherMember)).json(), { projects: [] });
  t.equal((await register(h, h.otherMember)).statusCode, 201, 'the same name is free in another account');

  t.equal((await get(h, '/api/v1/projects/my-ml-project', h.viewer)).statusCode, 200, 'viewer reads');
  t.equal((await get(h, '/api/v1/projects/my-ml-project/status', h.viewer)).statusCode, 200);
  for (const response of [
    await register(h, h.viewer, 'viewer-project'),
    await push(h, h.pack(JOURNEY_PROJECT), h.viewer),
    await post(h, '/api/v1/projects/my-ml-project/init', h.viewer),
    await post(h, '/api/v1/projects/my-ml-project/invalidate', h.viewer),
    await h.app.inject({ method: 'PUT', url: '/api/v1/projects/my-ml-project', headers: { authorization: h.viewer }, payload: { setup_timeout_s: 5 } }),
    await h.app.inject({ method: 'DELETE', url: '/api/v1/projects/my-ml-project', headers: { authorization: h.viewer } }),
  ]) {
    t.equal(response.statusCode, 403);
  }
  t.equal((await push(h, h.pack(JOURNEY_PROJECT), 'Bearer nope')).statusCode, 401);
});

t.test('metadata update, validation, delete', async (t) => {
  const h = await harness(t);
  await register(h);
  const updated = await h.app.inject({ method: 'PUT', url: '/api/v1/projects/my-ml-project', headers: { authorization: h.member }, payload: { env: { A: '1' }, setup_timeout_s: 30 } });
  t.match(updated.json(), { env: { A: '1' }, setup_timeout_s: 30, remote_dir: '/root/my-ml-project' });
  const bad = [
    { name: 'Bad_Name', remote_dir: '/x' },
    { name: 'ok', remote_dir: 'relative' },
    { name: 'ok', remote_dir: '/x/../etc' },
    { name: 'ok', remote_dir: '/x', env: { COMPUTALOT_TASK_RESULT: 'x' } },
    { name: 'ok', remote_dir: '/x', setup_timeout_s: 0 },
  ];
  for (const payload of bad) {
    t.equal((await h.app.inject({ method: 'POST', url: '/api/v1/projects', headers: { authorization: h.member }, payload })).statusCode, 422, JSON.stringify(payload));
  }
  t.equal((await h.app.inject({ method: 'PUT', url: '/api/v1/projects/my-ml-project', headers: { authorization: h.member }, payload: {} })).statusCode, 422, 'PUT needs a field');
  t.equal((await post(h, '/api/v1/projects/my-ml-project/init')).statusCode, 409, 'init before any push');
  const deleted = await h.app.inject({ method: 'DELETE', url: '/api/v1/projects/my-ml-project', headers: { authorization: h.member } });
  t.same(deleted.json(), { name: 'my-ml-project', deleted: true });
  t.equal((await get(h, '/api/v1/projects/my-ml-project')).statusCode, 404);
  t.match(h.invalidations, [{ reason: 'deleted' }]);
});

t.test('bodies over 100 MB are 413, streamed or declared', async (t) => {
  const h = await harness(t);
  await register(h);
  const chunk = Buffer.alloc(1024 * 1024);
  let sent = 0;
  const zeros = new Readable({
    read() {
      if (sent >= 101) return void this.push(null);
      sent += 1;
      this.push(chunk);
    },
  });
  const streamed = await push(h, zeros);
  t.equal(streamed.statusCode, 413);
  t.match(streamed.json(), { error: { code: 'payload_too_large' } });
  t.same(await readdir(join(h.blobDir, 'tmp')), [], 'partial upload removed');

  const declared = await h.app.inject({
    method: 'POST',
    url: '/api/v1/projects/my-ml-project/push',
    headers: { authorization: h.member, 'content-type': 'application/gzip', 'content-length': String(200 * 1024 * 1024) },
    payload: Readable.from([Buffer.alloc(10)]),
  });
  t.equal(declared.statusCode, 413, 'a declared Content-Length over the limit is refused before reading');
});
