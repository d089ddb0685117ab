/**
 * The runner protocol end to end with real interpreters in a real sandbox (bwrap
 * when the host has it, else the process backend), plus its pure parts (command
 * validation, dotenv, output ring).
 */
import { readdirSync, readFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { BwrapBackend, GvisorBackend, ProcessBackend, type SandboxBackend } from '../../src/node-agent/sandbox/index.js';
import {
  ALLOWED_EXECUTABLES,
  checkRunnerCommand,
  ExecutableResolver,
  OutputRing,
  parseDotenv,
  RunnerCommandRejectedError,
  runTask,
  type TaskRunSpec,
} from '../../src/node-agent/runner/index.js';

const fixtures = new URL('../fixtures/runner/', import.meta.url).pathname;
const resolver = new ExecutableResolver();
const quietProcess = new ProcessBackend(() => undefined);

async function sandboxBackend(): Promise<SandboxBackend> {
  const bwrap = new BwrapBackend();
  return (await bwrap.available()) ? bwrap : quietProcess;
}

/** A project dir holding the fixtures, a work root, and a spec factory. */
function setup(t: Test): { project: string; workRoot: string; spec: (over: Partial<TaskRunSpec> & Pick<TaskRunSpec, 'runnerCommand'>) => TaskRunSpec } {
  const root = mkdtempSync(join(tmpdir(), 'computalot-runner-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const project = join(root, 'project');
  cpSync(fixtures, project, { recursive: true });
  const workRoot = join(root, 'work');
  let n = 0;
  return {
    project,
    workRoot,
    spec: (over) => ({ attemptId: `att_${process.pid}_${(n += 1)}`, workRoot, projectDir: project, payload: {}, timeoutS: 30, graceS: 1, resolver, ...over }),
  };
}

/** True while any host process has `marker` in its command line. */
function processWithMarker(marker: string): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) return true;
    } catch {
      continue;
    }
  }
  return false;
}

t.test('checkRunnerCommand: allowed executables, shells refused', async (t) => {
  t.same(ALLOWED_EXECUTABLES, ['python', 'python3', 'node', 'deno', 'bun', 'ruby', 'julia', 'Rscript', 'uv', 'pip', 'npm', 'npx', 'cargo', 'rustc']);
  t.same(checkRunnerCommand(['python', 'train.py']), { ok: true, executable: 'python' });
  for (const shell of [['bash', '-c', 'id'], ['sh', 'x.sh'], ['zsh'], ['/bin/bash', 'x'], ['fish']]) {
    const check = checkRunnerCommand(shell);
    t.equal(check.ok, false, `${shell.join(' ')} refused`);
    if (!check.ok) t.match(check.reason, /shell executables are blocked/);
  }
  t.match(checkRunnerCommand(['/usr/bin/python3', 'x.py']), { ok: false, reason: /bare executable name/ });
  t.match(checkRunnerCommand(['perl', 'x.pl']), { ok: false, reason: /not allowed/ });
  t.match(checkRunnerCommand([]), { ok: false, reason: /non-empty/ });
  t.match(checkRunnerCommand(['python', 3]), { ok: false, reason: /runner_command\[1\]/ });
  t.match(checkRunnerCommand('python main.py'), { ok: false });

  const { spec } = setup(t);
  await t.rejects(runTask(spec({ runnerCommand: ['bash', '-c', 'echo hi'] }), quietProcess), RunnerCommandRejectedError);
  await t.rejects(runTask(spec({ runnerCommand: ['sh', '-c', 'echo hi'] }), quietProcess), { code: 'runner_command_rejected', httpStatus: 422 });
});

t.test('dotenv parsing', async (t) => {
  const parsed = parseDotenv(
    ['# comment', 'A=plain', 'export B = spaced ', "C='single $HOME #not comment'", 'D="dq \\"quoted\\"\\nnext"', 'E=value # trailing comment', 'F="multi', 'line"', 'bad line', '9X=1', 'G='].join('\n'),
  );
  t.same(parsed.vars, { A: 'plain', B: 'spaced', C: 'single $HOME #not comment', D: 'dq "quoted"\nnext', E: 'value', F: 'multi\nline', G: '' });
  t.equal(parsed.warnings.length, 2);
});

t.test('output ring keeps the last bytes', async (t) => {
  const ring = new OutputRing(10);
  for (let i = 0; i < 100; i += 1) ring.write(Buffer.from(String(i % 10)));
  t.equal(ring.text(), '0123456789');
  t.equal(ring.totalBytes, 100);
  t.ok(ring.truncated);
  const utf = new OutputRing(4);
  utf.write(Buffer.from('aé€'));
  t.equal(utf.text(), '€', 'a cut multi-byte character is dropped, not garbled');
});

t.test('python → python3 alias, resolved once to the real interpreter', async (t) => {
  const python = await resolver.resolve('python');
  const python3 = await resolver.resolve('python3');
  t.equal(python.path, python3.path);
  t.notMatch(python.path, /\/shims\//, 'not a pyenv shim');
  const started = performance.now();
  await resolver.resolve('python3');
  t.ok(performance.now() - started < 5, 'cached after the first lookup');
});

t.test('runner protocol round trip in the sandbox', async (t) => {
  const backend = await sandboxBackend();
  t.comment(`backend: ${backend.kind}`);
  const { spec, project } = setup(t);
  const progress: unknown[] = [];
  let live = '';
  const outcome = await runTask(spec({ runnerCommand: ['python3', 'roundtrip.py'], payload: { a: 2, b: 3 } }), backend, {
    onProgress: (p) => progress.push(p),
    onOutput: (chunk) => (live += chunk),
  });
  t.equal(outcome.status, 'completed', outcome.output);
  t.equal(outcome.exitCode, 0);
  t.match(outcome.result, { sum: 5, tmpdir: outcome.attemptDir.scratchDir, cwd: outcome.attemptDir.workDir });
  t.equal(outcome.resultPresent, true);
  t.same(progress, [{ percent: 50, stage: 'half' }, { percent: 100 }], 'progress lines parsed, the bad one skipped');
  t.same(outcome.latestProgress, { percent: 100 });
  t.equal(outcome.progressCount, 2);
  t.ok(outcome.warnings.some((w) => w.includes('progress line ignored')), 'bad progress JSON noted');
  t.match(outcome.output, /COMPUTALOT_PROGRESS:\{"percent": 50/, 'progress lines stay in the output');
  t.match(live, /COMPUTALOT_PROGRESS/, 'live output hook saw it');
  t.same(
    outcome.artifacts.map((a) => [a.name, a.size]),
    [
      ['model.bin', 700],
      ['sub/notes.txt', 5],
    ],
    'artifacts listed, the symlink ignored',
  );
  t.equal(outcome.artifacts[1]?.sha256, '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  t.equal(readFileSync(join(outcome.attemptDir.workDir, 'written-in-workdir.txt'), 'utf8'), 'cwd is writable', 'the work dir is a writable copy');
  t.notOk(existsSync(join(project, 'written-in-workdir.txt')), 'the prepared project tree is untouched');
  t.ok(outcome.runtimeMs > 0);
});

t.test('env order: base → env files → project env → meta.env → COMPUTALOT_*; .venv/bin first on PATH', async (t) => {
  const backend = await sandboxBackend();
  const { spec, project } = setup(t);
  writeFileSync(join(project, '.computalot.env'), 'L1=dotcomputalot\nL2=dotcomputalot\nL3=dotcomputalot\nL4=dotcomputalot\nLANG=en_US.UTF-8\n');
  writeFileSync(join(project, 'computalot.env'), 'L2=computalot\nL3=computalot\n');
  writeFileSync(join(project, '.env'), 'export L3="dotenv"\nCOMPUTALOT_TASK_RESULT=/tmp/hijack\n');
  // A venv made by hand (what `python -m venv --without-pip` writes): bin/python + pyvenv.cfg.
  const real = await resolver.resolve('python3');
  mkdirSync(join(project, '.venv', 'bin'), { recursive: true });
  symlinkSync(real.path, join(project, '.venv', 'bin', 'python'));
  writeFileSync(join(project, '.venv', 'pyvenv.cfg'), `home = ${dirname(real.path)}\ninclude-system-site-packages = false\n`);
  process.env['COMPUTALOT_TEST_AGENT_SECRET'] = 'agent-secret-value-42';
  t.teardown(() => delete process.env['COMPUTALOT_TEST_AGENT_SECRET']);

  const outcome = await runTask(
    spec({ runnerCommand: ['python', 'env_dump.py'], projectEnv: { L4: 'project', P: 'project' }, metaEnv: { P: 'meta', COMPUTALOT_ARTIFACT_DIR: '/tmp/nope' } }),
    backend,
  );
  t.equal(outcome.status, 'completed', outcome.output);
  const { env, executable } = outcome.result as { env: Record<string, string>; executable: string };
  t.equal(env['L1'], 'dotcomputalot', '.computalot.env applies');
  t.equal(env['L2'], 'computalot', 'computalot.env overrides .computalot.env');
  t.equal(env['L3'], 'dotenv', '.env overrides both');
  t.equal(env['L4'], 'project', 'project env map overrides the files');
  t.equal(env['P'], 'meta', 'meta.env overrides the project env');
  t.equal(env['LANG'], 'en_US.UTF-8', 'env files override the base runtime');
  t.equal(env['COMPUTALOT_TASK_RESULT'], outcome.attemptDir.resultPath, 'users cannot override protocol vars');
  t.equal(env['COMPUTALOT_ARTIFACT_DIR'], outcome.attemptDir.artifactDir);
  t.equal(env['COMPUTALOT_TASK_PAYLOAD'], outcome.attemptDir.payloadPath);
  t.equal(env['COMPUTALOT_TASK_SCRATCH_DIR'], outcome.attemptDir.scratchDir);
  t.equal(env['TMPDIR'], outcome.attemptDir.scratchDir);
  t.equal(env['PATH']?.split(':')[0], join(project, '.venv', 'bin'), '.venv/bin is first on PATH');
  t.equal(executable, join(project, '.venv', 'bin', 'python'), 'python resolved to the project venv');
  t.notOk('COMPUTALOT_TEST_AGENT_SECRET' in env, 'nothing from the agent environment');
  t.ok(outcome.warnings.some((w) => w.includes('COMPUTALOT_TASK_RESULT ignored')));
});

t.test('output ring, error tail, exit codes, results', async (t) => {
  const backend = await sandboxBackend();
  const { spec } = setup(t);

  const big = await runTask(spec({ runnerCommand: ['python3', 'big_output.py'] }), backend);
  t.equal(big.status, 'failed');
  t.equal(big.failureKind, 'exit_code');
  t.equal(big.exitCode, 1);
  t.ok(Buffer.byteLength(big.output) <= 10 * 1024, `output is at most 10 KB (${Buffer.byteLength(big.output)})`);
  t.ok(big.outputTruncated);
  t.notMatch(big.output, /line 00000 /, 'the head was dropped');
  t.match(big.output, /line 01999 /, 'the last lines are kept');
  t.ok((big.error?.length ?? 0) <= 1000, `error tail is ~1000 chars (${String(big.error?.length)})`);
  t.match(big.error, /Traceback[\s\S]*ValueError: boom at the end/, 'the traceback survives in the tail');

  const code = await runTask(spec({ runnerCommand: ['python3', 'exit_code.py'] }), backend);
  t.match(code, { status: 'failed', failureKind: 'exit_code', exitCode: 3 });
  t.match(code.error, /failing on purpose/, 'stderr is in the error tail');

  const bad = await runTask(spec({ runnerCommand: ['python3', 'bad_result.py'] }), backend);
  t.match(bad, { status: 'failed', failureKind: 'result_invalid', exitCode: 0, resultPresent: false });
  t.match(bad.error, /not valid JSON/);

  const none = await runTask(spec({ runnerCommand: ['python3', 'no_result.py'] }), backend);
  t.match(none, { status: 'completed', result: null, resultPresent: false });
  t.ok(none.warnings.some((w) => w.includes('without writing')));

  const missing = await runTask(spec({ runnerCommand: ['julia', 'x.jl'] }), backend);
  if (missing.status === 'failed') t.match(missing, { failureKind: 'agent_error', error: /not installed/ }, 'an allowed tool absent from the node');
});

const gvisor = new GvisorBackend();

t.test('round trip and env through gVisor', async (t) => {
  if (!(await gvisor.available())) {
    t.pass(`gvisor skipped: ${gvisor.unavailableReason() ?? 'unavailable'}`, { skip: true });
    return;
  }
  const { spec } = setup(t);
  const outcome = await runTask(spec({ runnerCommand: ['python3', 'roundtrip.py'], payload: { a: 20, b: 22 }, metaEnv: { M: 'meta' } }), gvisor);
  t.equal(outcome.status, 'completed', outcome.output);
  t.match(outcome.result, { sum: 42 });
  t.equal(outcome.progressCount, 2);
  t.equal(outcome.artifacts.length, 2, 'artifacts written in gVisor reach the host');
});

for (const kind of ['sandbox', 'process', 'gvisor'] as const) {
  t.test(`timeout (${kind}): SIGTERM, grace, SIGKILL of the whole tree`, async (t) => {
    const backend = kind === 'process' ? quietProcess : kind === 'gvisor' ? gvisor : await sandboxBackend();
    if (!(await backend.available())) {
      t.pass(`${kind} skipped: ${backend.unavailableReason() ?? 'unavailable'}`, { skip: true });
      return;
    }
    const { spec } = setup(t);
    const marker = `31.${process.pid % 1000}${kind.length}`;
    // The timeout counts from launch; gVisor's cold start (~1 s, more under load) must
    // not eat it before the fixture has installed its SIGTERM handler.
    const timeoutS = kind === 'gvisor' ? 4 : 2;
    const outcome = await runTask(spec({ runnerCommand: ['python3', 'sleeper.py', marker], timeoutS, graceS: 1 }), backend);
    t.match(outcome, { status: 'failed', failureKind: 'timeout' });
    t.match(outcome.output, /got SIGTERM, ignoring it/, 'SIGTERM reached the task first');
    t.match(outcome.error, new RegExp(`exceeded timeout_s=${timeoutS}`));
    const expected = (timeoutS + 1) * 1000;
    t.ok(outcome.runtimeMs >= expected - 100 && outcome.runtimeMs < expected + 6000, `TERM at ${timeoutS} s, KILL after 1 s grace (${outcome.runtimeMs} ms)`);
    t.notOk(processWithMarker(`sleep ${marker}`), 'the detached child sleep is gone too');
  });
}

t.test('cancellation via AbortSignal', async (t) => {
  const backend = await sandboxBackend();
  const { spec } = setup(t);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const outcome = await runTask(spec({ runnerCommand: ['python3', 'sleeper.py', '29.5'], signal: controller.signal, graceS: 0.5 }), backend);
  t.match(outcome, { status: 'failed', failureKind: 'cancelled' });
  t.ok(outcome.runtimeMs < 5000);
});
