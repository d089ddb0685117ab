/**
 * Sandbox backends against the real thing: bwrap and gVisor (and nsjail where the
 * binary exists) run hostile fixture scripts; nothing is mocked. A backend whose
 * `available()` is false is skipped with its reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  BwrapBackend,
  buildBwrapArgv,
  buildNsjailArgv,
  buildOciConfig,
  DEFAULT_RUNTIME_PATHS,
  GvisorBackend,
  NsjailBackend,
  ProcessBackend,
  selectSandboxBackend,
  SandboxUnavailableError,
  UnsandboxedRefusedError,
  TaskCgroup,
  detectCgroupVersion,
  type SandboxBackend,
  type SandboxedProcess,
  type SandboxLaunchSpec,
} from '../../src/node-agent/sandbox/index.js';
import { ExecutableResolver } from '../../src/node-agent/runner/index.js';

const fixtures = new URL('../fixtures/runner/', import.meta.url).pathname.replace(/\/$/, '');
const resolver = new ExecutableResolver();

async function collect(proc: SandboxedProcess): Promise<{ output: string; exit: Awaited<ReturnType<SandboxedProcess['wait']>>; ms: number }> {
  const started = performance.now();
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exit = await proc.wait();
  return { output, exit, ms: performance.now() - started };
}

t.test('argv builders (no binary needed)', async (t) => {
  const spec: SandboxLaunchSpec = {
    argv: ['/usr/bin/python3', 'main.py'],
    cwd: '/tmp',
    env: { A: '1', PATH: '/usr/bin' },
    readOnlyPaths: ['/usr', '/bin', '/etc/passwd'],
    writablePaths: ['/tmp'],
    limits: { memoryMb: 256, pids: 64, cpu: 1.5, tmpfsMb: 32 },
  };
  const bwrap = buildBwrapArgv(spec, '/usr/bin/bwrap');
  for (const flag of ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv']) t.ok(bwrap.includes(flag), `bwrap has ${flag}`);
  t.match(bwrap.join(' '), /--cap-drop ALL/);
  t.match(bwrap.join(' '), /--setenv A 1 --setenv PATH \/usr\/bin/);
  t.match(bwrap.join(' '), /--size 33554432 --tmpfs \/tmp/);
  t.match(bwrap.join(' '), /--symlink usr\/bin \/bin/, '/bin is recreated as the usr-merge symlink');
  t.match(bwrap.join(' '), /--ro-bind \/etc\/passwd \/etc\/passwd/);
  t.same(bwrap.slice(bwrap.indexOf('--') + 1), ['/usr/bin/python3', 'main.py']);
  t.throws(() => buildBwrapArgv({ ...spec, cwd: '/home' }), { code: 'sandbox_spec_invalid' }, 'cwd outside the mounts is refused');
  t.throws(() => buildBwrapArgv({ ...spec, readOnlyPaths: ['usr'] }), { code: 'sandbox_spec_invalid' });

  const nsjail = buildNsjailArgv(spec, '/usr/bin/nsjail').join(' ');
  for (const part of ['-Mo', '--really_quiet', '--iface_no_lo', '--cwd /tmp', '-E A=1', '-E PATH=/usr/bin', '--cgroup_mem_max 268435456', '--cgroup_pids_max 64', '--cgroup_cpu_ms_per_sec 1500', '--rlimit_as max', '--time_limit 0', '-R /usr', '-s usr/bin:/bin', '-B /tmp', '-- /usr/bin/python3 main.py']) {
    t.ok(nsjail.includes(part), `nsjail argv has ${part}`);
  }
  t.notOk(nsjail.includes('--disable_proc'), '/proc stays mounted');

  const oci = buildOciConfig(spec, '/computalot/x');
  t.same(oci.root, { path: 'rootfs', readonly: true });
  t.same(oci.process.args, spec.argv);
  t.same(oci.process.env, ['A=1', 'PATH=/usr/bin']);
  t.same(oci.process.capabilities.bounding, []);
  t.ok(oci.linux.namespaces.some((n) => n.type === 'network'), 'own network namespace');
  t.equal(oci.linux.cgroupsPath, '/computalot/x');
  t.ok(oci.mounts.some((m) => m.destination === '/usr' && m.options?.includes('ro') === true));
  t.ok(oci.mounts.some((m) => m.destination === '/tmp' && m.type === 'bind' && m.options?.includes('rw') === true));
  t.notOk(oci.mounts.some((m) => m.destination === '/bin'), 'symlinks live in the rootfs, not as mounts');
});

t.test('backend selection', async (t) => {
  const absent = (kind: SandboxBackend['kind']): SandboxBackend => ({
    kind,
    available: async () => false,
    unavailableReason: () => `${kind} absent in this test`,
    launch: () => {
      throw new Error('not launchable');
    },
  });
  const processBackend = new ProcessBackend(() => undefined);
  await t.rejects(selectSandboxBackend({ backends: [absent('gvisor'), absent('bwrap'), processBackend] }), UnsandboxedRefusedError, 'process needs allow_unsandboxed');
  const fallback = await selectSandboxBackend({ backends: [absent('gvisor'), absent('bwrap'), processBackend], allowUnsandboxed: true });
  t.equal(fallback.backend.kind, 'process');
  t.same(fallback.skipped.map((s) => s.kind), ['gvisor', 'bwrap']);
  await t.rejects(selectSandboxBackend({ backends: [processBackend], preferred: 'process' }), UnsandboxedRefusedError);
  await t.rejects(selectSandboxBackend({ backends: [absent('bwrap')], preferred: 'bwrap' }), SandboxUnavailableError, 'an explicit choice never falls back');
  const bwrap = new BwrapBackend();
  if (await bwrap.available()) {
    const chosen = await selectSandboxBackend({ backends: [absent('gvisor'), bwrap, processBackend] });
    t.equal(chosen.backend.kind, 'bwrap');
    const excluded = await selectSandboxBackend({ backends: [new GvisorBackend(), bwrap], exclude: ['gvisor'] });
    t.equal(excluded.backend.kind, 'bwrap', 'GPU tasks can exclude gvisor');
  }
  const real = await selectSandboxBackend();
  t.comment(`strongest backend on this host: ${real.backend.kind} (skipped: ${JSON.stringify(real.skipped)})`);
});

t.test('cgroups: detected and writable here', async (t) => {
  const version = detectCgroupVersion();
  t.comment(`cgroup version: ${String(version)}`);
  const group = TaskCgroup.create(`unit-${process.pid}`, { memoryMb: 64, pids: 10, cpu: 0.5 });
  t.teardown(() => group.remove());
  if (!group.usable) {
    t.comment('cgroups not writable on this host: limits degrade to unenforced');
    t.same(group.enforced, { memory: false, pids: false, cpu: false });
    return;
  }
  t.same(group.enforced, { memory: true, pids: true, cpu: true });
  const wrapped = group.wrap(['/bin/sh', '-c', 'cat /proc/self/cgroup']);
  const run = spawnSync(wrapped[0] ?? '', wrapped.slice(1), { encoding: 'utf8', env: {} });
  t.match(run.stdout, group.relativePath, 'the wrapper joined the cgroup before exec');
});

interface Env {
  readonly root: string;
  readonly secretFile: string;
  readonly rootSecret: string;
  readonly writable: string;
  readonly port: number;
  readonly connections: () => number;
}

async function hostileSetup(t: Test): Promise<Env> {
  const root = mkdtempSync(join(tmpdir(), 'computalot-sbx-'));
  const outside = mkdtempSync(join(tmpdir(), 'computalot-secret-'));
  const secretFile = join(outside, 'secret.txt');
  writeFileSync(secretFile, 'host secret');
  const rootSecret = `/root/.computalot-test-secret-${process.pid}`;
  writeFileSync(rootSecret, 'root secret');
  const writable = join(root, 'work');
  mkdirSync(writable);
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.env['COMPUTALOT_TEST_AGENT_SECRET'] = 'agent-secret-value-42';
  t.teardown(() => {
    server.close();
    delete process.env['COMPUTALOT_TEST_AGENT_SECRET'];
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
    rmSync(rootSecret, { force: true });
  });
  return { root, secretFile, rootSecret, writable, port, connections: () => connections };
}

const backends: SandboxBackend[] = [new BwrapBackend(), new GvisorBackend(), new NsjailBackend()];

for (const backend of backends) {
  t.test(`${backend.kind}: isolation and limits`, async (t) => {
    if (!(await backend.available())) {
      t.comment(`SKIP ${backend.kind}: ${backend.unavailableReason() ?? 'unavailable'}`);
      t.pass(`${backend.kind} skipped: ${backend.unavailableReason() ?? 'unavailable'}`, { skip: true });
      return;
    }
    const env = await hostileSetup(t);
    const python = await resolver.resolve('python3');
    const baseSpec = {
      cwd: env.writable,
      env: { PATH: `${python.binDir}:/usr/bin:/bin`, HOME: env.writable, LANG: 'C.UTF-8', TASK_ONLY: 'visible' },
      readOnlyPaths: [...DEFAULT_RUNTIME_PATHS, ...python.runtimePaths, fixtures],
      writablePaths: [env.writable],
      hardTimeoutMs: 60_000,
    };

    const probe = await collect(
      backend.launch({ ...baseSpec, argv: [python.path, join(fixtures, 'isolation_probe.py'), env.secretFile, '127.0.0.1', String(env.port), env.writable] }),
    );
    t.comment(`${backend.kind} probe launch+run: ${probe.ms.toFixed(0)} ms`);
    t.equal(probe.exit.exitCode, 0, `probe ran: ${probe.output.slice(-500)}`);
    const report = JSON.parse(probe.output.trim().split('\n').pop() ?? '{}') as Record<string, { ok: boolean; value?: unknown; error?: string }>;
    t.equal(report['secret_file']?.ok, false, `secret outside the tree unreadable: ${report['secret_file']?.error}`);
    t.equal(report['etc_shadow']?.ok, false, '/etc/shadow unreadable');
    const rootListing = (report['root_listing']?.value ?? []) as string[];
    t.notOk(rootListing.some((name) => name.startsWith('.computalot-test-secret')), `/root hides its files (sees ${JSON.stringify(rootListing)})`);
    t.equal(report['tcp_connect']?.ok, false, `no network: ${report['tcp_connect']?.error}`);
    t.equal(env.connections(), 0, 'the host server saw no connection');
    for (const key of ['environ_self', 'environ_pid1', 'environ']) {
      const text = JSON.stringify(report[key]?.value ?? report[key]?.error ?? '');
      t.notMatch(text, /agent-secret-value-42/, `${key} has no agent secret`);
      t.notMatch(text, /COMPUTALOT_TEST_AGENT_SECRET/, `${key} has no agent variable name`);
    }
    t.match(JSON.stringify(report['environ']?.value), /TASK_ONLY/, 'the task sees its own env');
    t.equal(report['write_writable']?.ok, true);
    t.equal(readFileSync(join(env.writable, 'from-task.txt'), 'utf8'), 'written inside the sandbox', 'writes to the writable dir reach the host');

    const memory = await collect(backend.launch({ ...baseSpec, argv: [python.path, join(fixtures, 'memory_bomb.py')], limits: { memoryMb: 256 } }));
    t.comment(`${backend.kind} memory bomb: exit ${String(memory.exit.exitCode)} oom=${String(memory.exit.oomKilled)} in ${memory.ms.toFixed(0)} ms`);
    t.notMatch(memory.output, /ALLOCATED 2 GiB/, 'the 2 GiB allocation never completed');
    t.equal(memory.exit.exitCode, 137, 'killed (137)');
    t.equal(memory.exit.oomKilled, true, 'reported as OOM');

    const forks = await collect(backend.launch({ ...baseSpec, argv: [python.path, join(fixtures, 'fork_bomb.py')], limits: { pids: 64, memoryMb: 1024 } }));
    t.comment(`${backend.kind} fork bomb: exit ${String(forks.exit.exitCode)} in ${forks.ms.toFixed(0)} ms: ${forks.output.trim().slice(-200)}`);
    const counts = /forked=(\d+) failed=(\d+)/.exec(forks.output);
    if (counts !== null) {
      t.ok(Number(counts[1]) < 300 && Number(counts[2]) > 0, 'the pids limit refused forks');
    } else {
      t.not(forks.exit.exitCode, 0, 'the sandbox died at the limit instead (gVisor: its Sentry cannot grow past pids.max)');
    }
    t.ok(forks.ms < 30_000, 'contained quickly');
    t.equal(spawnSync('/bin/true').status, 0, 'the host can still start processes');
  });
}

t.test('process backend: explicit env only, own group, warns once', async (t) => {
  const warnings: string[] = [];
  const backend = new ProcessBackend((m) => warnings.push(m));
  const dir = mkdtempSync(join(tmpdir(), 'computalot-proc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  process.env['COMPUTALOT_TEST_AGENT_SECRET'] = 'agent-secret-value-42';
  t.teardown(() => delete process.env['COMPUTALOT_TEST_AGENT_SECRET']);
  const spec = { argv: ['/usr/bin/env', '-0'], cwd: dir, env: { ONLY: 'this' }, readOnlyPaths: ['/usr'], writablePaths: [dir] };
  const first = await collect(backend.launch(spec));
  await collect(backend.launch(spec));
  // tap instruments child_process.spawn and adds its own _TAPJS_*/NODE_OPTIONS to every
  // child's env; those are the test runner's, not the agent's.
  const lines = first.output.split('\0').filter((l) => l !== '' && !/^(_TAPJS_|NODE_OPTIONS=)/.test(l));
  t.same(lines, ['ONLY=this'], 'nothing inherited from the agent');
  t.equal(warnings.length, 1, 'one loud warning per backend instance');
  t.match(warnings[0], /WITHOUT a sandbox/);
});
