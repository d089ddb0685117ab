/**
 * `runTask`: one attempt through the runner protocol (reference, "Runner Protocol
 * (All Job Types)"; ARCHITECTURE.md §6).
 *
 * Decisions the reference leaves open:
 * - Exit 0 without a result file is a success with `result: null` and
 *   `resultPresent: false` (plus a warning): the results API reports
 *   `result_present` per task, so a resultless success is a state the platform knows.
 *   A result file that is not JSON (or a symlink, or over 16 MiB) fails the attempt
 *   with `result_invalid`.
 * - An OOM kill is an `exit_code` failure with `oomKilled` set and a note in the error.
 * - Timeout and cancel both send SIGTERM to the whole tree, wait `graceS`, then
 *   SIGKILL it; a note saying so ends the output so the user sees why it stopped.
 */
import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_RUNTIME_PATHS } from '../sandbox/mounts.js';
import type { SandboxBackend } from '../sandbox/sandbox.js';
import { checkRunnerCommand } from './allowed-executables.js';
import { createAttemptDir, listArtifacts, readResultFile } from './attempt-dir.js';
import { RunnerCommandRejectedError } from './errors.js';
import { errorTail, OutputRing, ProgressLineScanner } from './output-capture.js';
import { ExecutableResolver, type ResolvedExecutable } from './resolve-executable.js';
import { baseRuntimeEnv, buildTaskEnv } from './task-env.js';
import { DEFAULT_GRACE_S, type FailureKind, type TaskRunHooks, type TaskRunOutcome, type TaskRunSpec } from './types.js';

let sharedResolver: ExecutableResolver | undefined;
const MAX_WARNINGS = 50;

/**
 * Runs one attempt in `backend` and reports how it ended. Throws only for a
 * runner command that fails {@link checkRunnerCommand} (the gateway rejects those
 * at submit); every other failure is an outcome.
 */
export async function runTask(spec: TaskRunSpec, backend: SandboxBackend, hooks: TaskRunHooks = {}): Promise<TaskRunOutcome> {
  const check = checkRunnerCommand(spec.runnerCommand);
  if (!check.ok) throw new RunnerCommandRejectedError(check.reason, { details: { runner_command: spec.runnerCommand } });
  const warnings: string[] = [];
  const warn = (message: string): void => {
    if (warnings.length < MAX_WARNINGS) warnings.push(message);
  };
  const ring = new OutputRing(spec.maxOutputBytes);
  const attemptDir = await createAttemptDir(spec.workRoot, spec.attemptId, spec.payload, spec.projectDir);
  const started = performance.now();
  const base = { backend: backend.kind, attemptDir, artifacts: [], progressCount: 0, result: null, resultPresent: false, oomKilled: false, signal: null };
  const noLimits = { memory: false, pids: false, cpu: false };

  let executable: ResolvedExecutable;
  try {
    const resolver = spec.resolver ?? (sharedResolver ??= new ExecutableResolver());
    executable = await resolver.resolve(check.executable, spec.projectDir);
  } catch (error) {
    const message = `[computalot] ${error instanceof Error ? error.message : String(error)}`;
    return { ...base, status: 'failed', failureKind: 'agent_error', exitCode: null, output: message, outputTruncated: false, error: message, runtimeMs: 0, warnings, enforced: noLimits };
  }

  const protocol: Record<string, string> = {
    COMPUTALOT_TASK_PAYLOAD: attemptDir.payloadPath,
    COMPUTALOT_TASK_RESULT: attemptDir.resultPath,
    COMPUTALOT_ARTIFACT_DIR: attemptDir.artifactDir,
    COMPUTALOT_TASK_SCRATCH_DIR: attemptDir.scratchDir,
    COMPUTALOT_ATTEMPT_ID: spec.attemptId,
  };
  for (const [key, value] of Object.entries(spec.protocolEnv ?? {})) {
    if (key.startsWith('COMPUTALOT_')) protocol[key] = value;
    else warn(`protocol env ${key} ignored: protocol variables start with COMPUTALOT_`);
  }
  const built = await buildTaskEnv({
    base: baseRuntimeEnv(attemptDir.scratchDir, [executable.binDir]),
    protocol,
    ...(spec.projectDir === undefined ? {} : { projectDir: spec.projectDir }),
    ...(spec.projectEnv === undefined ? {} : { projectEnv: spec.projectEnv }),
    ...(spec.metaEnv === undefined ? {} : { metaEnv: spec.metaEnv }),
  });
  built.warnings.forEach(warn);

  const graceMs = (spec.graceS ?? DEFAULT_GRACE_S) * 1000;
  const timeoutMs = spec.timeoutS * 1000;
  let sandbox;
  try {
    sandbox = backend.launch({
      id: spec.attemptId,
      argv: [executable.path, ...spec.runnerCommand.slice(1)],
      cwd: attemptDir.workDir,
      env: built.env,
      readOnlyPaths: [...DEFAULT_RUNTIME_PATHS, ...executable.runtimePaths, ...(spec.projectDir === undefined ? [] : [spec.projectDir]), ...(spec.extraReadOnlyPaths ?? [])],
      writablePaths: [attemptDir.root],
      network: 'none',
      ...(spec.limits === undefined ? {} : { limits: spec.limits }),
      // Backstop well after the runner's own TERM → grace → KILL sequence.
      hardTimeoutMs: timeoutMs + graceMs + 30_000,
    });
  } catch (error) {
    const message = `[computalot] sandbox ${backend.kind} failed to launch: ${error instanceof Error ? error.message : String(error)}`;
    return { ...base, status: 'failed', failureKind: 'sandbox', exitCode: null, output: message, outputTruncated: false, error: message, runtimeMs: 0, warnings, enforced: noLimits };
  }
  hooks.onStart?.({ pid: sandbox.pid, backend: backend.kind, enforced: sandbox.enforced });

  let latestProgress: unknown;
  let progressCount = 0;
  const scanner = new ProgressLineScanner((line) => {
    if (line.ok) {
      progressCount += 1;
      latestProgress = line.value;
      hooks.onProgress?.(line.value);
    } else {
      warn(`progress line ignored (${line.reason}): ${line.line}`);
    }
  });
  const pipe = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr'): void => {
    const decoder = new StringDecoder('utf8');
    stream.on('data', (chunk: Buffer) => {
      ring.write(chunk);
      const text = decoder.write(chunk);
      if (name === 'stdout') scanner.feed(text);
      if (text !== '') hooks.onOutput?.(text, name);
    });
    stream.on('end', () => {
      if (name === 'stdout') scanner.end();
    });
  };
  pipe(sandbox.stdout, 'stdout');
  pipe(sandbox.stderr, 'stderr');

  // Timeout and cancel share one stop sequence: TERM the tree, grace, KILL the tree.
  let stopReason: 'timeout' | 'cancelled' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: 'timeout' | 'cancelled'): void => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    void sandbox.kill('SIGTERM');
    killTimer = setTimeout(() => void sandbox.kill('SIGKILL'), graceMs);
  };
  const timeoutTimer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = (): void => stop('cancelled');
  if (spec.signal?.aborted === true) onAbort();
  else spec.signal?.addEventListener('abort', onAbort, { once: true });

  const exit = await sandbox.wait();
  clearTimeout(timeoutTimer);
  if (killTimer !== undefined) clearTimeout(killTimer);
  spec.signal?.removeEventListener('abort', onAbort);
  const runtimeMs = Math.round(performance.now() - started);

  const note = (text: string): void => ring.write(Buffer.from(`\n[computalot] ${text}\n`));
  let failureKind: FailureKind | undefined;
  let result: unknown = null;
  let resultPresent = false;
  if (stopReason === 'cancelled') {
    failureKind = 'cancelled';
    note(`task cancelled: sent SIGTERM to the process tree, SIGKILL after ${spec.graceS ?? DEFAULT_GRACE_S} s grace`);
  } else if (stopReason === 'timeout' || exit.hardTimedOut === true) {
    failureKind = 'timeout';
    note(`task exceeded timeout_s=${spec.timeoutS}: sent SIGTERM to the process tree, SIGKILL after ${spec.graceS ?? DEFAULT_GRACE_S} s grace`);
  } else if (exit.launchError !== undefined) {
    failureKind = 'sandbox';
    note(`sandbox ${backend.kind} could not start: ${exit.launchError}`);
  } else if (exit.exitCode === 0 && exit.signal === null) {
    const read = await readResultFile(attemptDir.resultPath);
    if (read.kind === 'ok') {
      result = read.value;
      resultPresent = true;
    } else if (read.kind === 'missing') {
      warn('the task exited 0 without writing $COMPUTALOT_TASK_RESULT; result is null');
    } else {
      failureKind = 'result_invalid';
      note(read.reason);
    }
  } else {
    failureKind = 'exit_code';
    if (exit.oomKilled === true) note(`killed by the out-of-memory killer (memory limit ${spec.limits?.memoryMb ?? '?'} MiB)`);
    else note(`exited with ${exit.exitCode === null ? `signal ${String(exit.signal)}` : `code ${exit.exitCode}`}`);
  }

  const output = ring.text();
  const artifacts = await listArtifacts(attemptDir.artifactDir).catch((error: unknown) => {
    warn(`artifact listing failed: ${error instanceof Error ? error.message : String(error)}`);
    return [];
  });
  return {
    status: failureKind === undefined ? 'completed' : 'failed',
    ...(failureKind === undefined ? {} : { failureKind, error: errorTail(output.trimEnd()) }),
    exitCode: exit.exitCode,
    signal: exit.signal,
    oomKilled: exit.oomKilled === true,
    result,
    resultPresent,
    output,
    outputTruncated: ring.truncated,
    runtimeMs,
    artifacts,
    ...(progressCount > 0 ? { latestProgress } : {}),
    progressCount,
    warnings,
    backend: backend.kind,
    enforced: sandbox.enforced,
    attemptDir,
  };
}
