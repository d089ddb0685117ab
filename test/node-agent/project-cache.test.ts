/**
 * The node's project cache: extraction, Dockerfile RUN steps, runtime.init,
 * and validation (files, executables, commands), run in a real sandbox.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ProjectCache } from '../../src/node-agent/projects/project-cache.js';
import { GvisorBackend, createSandboxBackends, selectSandboxBackend } from '../../src/node-agent/sandbox/index.js';
import { listTarball } from '../../src/projects/index.js';
import { packDirectory, streamOf } from '../helpers/tarballs.js';

const logger = pino({ level: 'silent' });

function manifest(extra: Record<string, unknown> = {}, runtimeExtra: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: 1, runtime: { kind: 'oci', sandbox: 'bwrap', workdir: '/workspace', ...runtimeExtra }, entrypoint: { command: ['python3', 'job.py'] }, ...extra });
}

async function setup(t: Test, files: Record<string, string>, preferred?: 'gvisor') {
  const root = await mkdtemp(join(tmpdir(), 'computalot-cache-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const tarball = packDirectory(join(root, 'src'), files);
  const { contentHash } = await listTarball(streamOf(tarball));
  const backends = createSandboxBackends({ warn: () => undefined });
  // bwrap when installed (CI installs it); the process backend keeps the test meaningful on a bare machine.
  const sandbox = async () => (await selectSandboxBackend({ backends, allowUnsandboxed: true, ...(preferred ? { preferred } : { exclude: ['gvisor'] }) })).backend;
  let opened = 0;
  const cache = new ProjectCache({
    workRoot: join(root, 'work'),
    sandbox,
    logger,
    openTarball: async () => {
      opened++;
      return streamOf(tarball);
    },
  });
  return { cache, contentHash, opened: () => opened };
}

const gvisorAvailable = await new GvisorBackend().available();
for (const preferred of [undefined, ...(gvisorAvailable ? (['gvisor'] as const) : [])]) t.test(`RUN steps, runtime.init and validation run in order; the revision is ready once (${preferred ?? 'bwrap or process'})`, async (t) => {
  const { cache, contentHash, opened } = await setup(t, {
    Dockerfile: 'FROM python:3.11-slim\nWORKDIR /workspace\nCOPY . .\nRUN python3 -c "open(\'built.txt\', \'w\').write(\'run\')"\n',
    'computalot.project.json': manifest(
      { validation: { files: ['job.py', 'built.txt', 'init.txt'], executables: ['python'], commands: [{ label: 'import check', command: ['python3', '-c', 'import json'] }] } },
      { init: { commands: [{ label: 'init step', command: ['python3', '-c', "open('init.txt', 'w').write(open('built.txt').read() + '+init')"] }] } },
    ),
    'job.py': 'print("hi")\n',
  }, preferred);
  const reports: string[] = [];
  const outcome = await cache.prepare({ project: 'p', contentHash, source: { $case: 'tarballUrl', value: 'http://controller/blob' } }, (r) => reports.push(r.message), new AbortController().signal);
  t.same(outcome, { state: 'ready', message: '' });
  const tree = cache.treeOf(contentHash);
  t.equal(await readFile(join(tree, 'init.txt'), 'utf8'), 'run+init', 'RUN ran before runtime.init, both in the tree');
  t.ok(reports.includes('init step') && reports.includes('import check'), 'each step was reported');
  t.equal(await cache.resolve(contentHash, 'http://controller/blob'), tree, 'resolve finds the prepared tree');
  t.equal(opened(), 1, 'a prepared revision is not fetched again');
});

t.test('a failing step, a missing file or executable fails the revision with a clear message', async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['failing init', { 'computalot.project.json': manifest({}, { init: { commands: [{ label: 'sync deps', command: ['python3', '-c', 'import sys; print("boom"); sys.exit(3)'] }] } }), Dockerfile: 'FROM x\n', 'job.py': '' }, /sync deps: exited 3[\s\S]*boom/],
    ['missing file', { 'computalot.project.json': manifest({ validation: { files: ['made-by-setup.bin'] } }), Dockerfile: 'FROM x\n', 'job.py': '' }, /validation.files missing after setup: made-by-setup.bin/],
    ['missing executable', { 'computalot.project.json': manifest({ validation: { executables: ['no-such-tool-xyz'] } }), Dockerfile: 'FROM x\n', 'job.py': '' }, /validation.executables not found on this node: no-such-tool-xyz/],
  ];
  for (const [name, files, message] of cases) {
    const { cache, contentHash } = await setup(t, files);
    const outcome = await cache.prepare({ project: 'p', contentHash, source: { $case: 'tarballUrl', value: 'x' } }, () => undefined, new AbortController().signal);
    t.equal(outcome.state, 'failed', `${name}: failed`);
    t.match(outcome.message, message, `${name}: says why`);
    t.equal(await cache.resolve(contentHash, 'x'), undefined, `${name}: no tree handed to tasks`);
    await t.rejects(stat(join(cache.treeOf(contentHash), '..', 'ready.json')), `${name}: never marked ready`);
  }
});
