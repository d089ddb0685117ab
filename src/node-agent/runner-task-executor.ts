/**
 * The product's {@link TaskExecutor}: runs a dispatch through the runner
 * protocol (`runTask`) in the sandbox it names — or the strongest this node
 * has — and maps the runner's outcome onto TaskFinished's fields.
 */
import type { DispatchTask } from '../gen/computalot/agent/v1/agent.js';
import type { Logger } from '../shared/logger.js';
import { removeAttemptDir, runTask, type TaskRunOutcome } from './runner/index.js';
import { createSandboxBackends, selectSandboxBackend, type SandboxBackend, type SandboxKind } from './sandbox/index.js';
import type { TaskExecutionHooks, TaskExecutor, TaskOutcome, TaskPlacement } from './task-executor.js';
import type { ArtifactFile } from './runner/index.js';

/** Used when a dispatch carries no timeout, in seconds. */
export const DEFAULT_TASK_TIMEOUT_S = 3600;

/** Options of {@link RunnerTaskExecutor}. */
export interface RunnerTaskExecutorOptions {
  /** Node work root; attempt directories are created below it. */
  readonly workRoot: string;
  /** Config `allow_unsandboxed`: permits the `process` backend. */
  readonly allowUnsandboxed: boolean;
  readonly logger: Logger;
  /** Candidate backends; default one of each. */
  readonly backends?: readonly SandboxBackend[];
  /**
   * The prepared, extracted tree of a project revision on this node, or
   * undefined when it is not prepared (the attempt then fails as `prepare`).
   * Without it, only recipe tasks (no `project`) can run.
   */
  readonly resolveProjectDir?: (dispatch: DispatchTask, signal: AbortSignal) => Promise<string | undefined>;
  /** Uploads the attempt's artifact files and returns their `art_…` ids; without it artifacts stay unreported. */
  readonly uploadArtifacts?: (dispatch: DispatchTask, files: readonly ArtifactFile[]) => Promise<string[]>;
}

/** Processes and threads one task may have (cgroup `pids.max`). */
const TASK_PIDS_LIMIT = 2048;

/** Runs dispatches with `runTask`. */
export class RunnerTaskExecutor implements TaskExecutor {
  private readonly options: RunnerTaskExecutorOptions;
  private readonly backends: readonly SandboxBackend[];

  constructor(options: RunnerTaskExecutorOptions) {
    this.options = options;
    this.backends = options.backends ?? createSandboxBackends();
  }

  async execute(dispatch: DispatchTask, hooks: TaskExecutionHooks, signal: AbortSignal, placement: TaskPlacement): Promise<TaskOutcome> {
    const startedAt = Date.now();
    let projectDir: string | undefined;
    if (dispatch.project !== '') {
      projectDir = await this.options.resolveProjectDir?.(dispatch, signal);
      if (projectDir === undefined) return failedBeforeStart('prepare', `project ${dispatch.project}@${dispatch.contentHash.slice(0, 12)} is not prepared on this node`, startedAt);
    }
    let backend: SandboxBackend;
    try {
      // Debian's runsc has no GPU passthrough: GPU work skips gVisor (see select-backend.ts).
      const exclude: SandboxKind[] = placement.gpuIndices.length > 0 ? ['gvisor'] : [];
      const preferred = dispatch.sandboxKind === '' ? undefined : (dispatch.sandboxKind as SandboxKind);
      ({ backend } = await selectSandboxBackend({ backends: this.backends, allowUnsandboxed: this.options.allowUnsandboxed, exclude, ...(preferred === undefined ? {} : { preferred }) }));
    } catch (error) {
      return failedBeforeStart('sandbox', error instanceof Error ? error.message : String(error), startedAt);
    }
    let payload: unknown = null;
    try {
      payload = dispatch.payloadJson === '' ? null : JSON.parse(dispatch.payloadJson);
    } catch {
      return failedBeforeStart('agent_error', 'dispatch payload is not valid JSON', startedAt);
    }
    const requirements = dispatch.requirements;
    const outcome = await runTask(
      {
        attemptId: dispatch.attemptId,
        workRoot: this.options.workRoot,
        ...(projectDir === undefined ? {} : { projectDir }),
        runnerCommand: dispatch.runnerCommand,
        payload,
        timeoutS: dispatch.timeoutS > 0 ? dispatch.timeoutS : DEFAULT_TASK_TIMEOUT_S,
        ...(dispatch.graceS > 0 ? { graceS: dispatch.graceS } : {}),
        projectEnv: dispatch.projectEnv,
        metaEnv: dispatch.metaEnv,
        protocolEnv: { ...dispatch.env, COMPUTALOT_TASK_ID: dispatch.taskId, COMPUTALOT_JOB_ID: dispatch.jobId },
        ...(dispatch.maxOutputBytes > 0 ? { maxOutputBytes: dispatch.maxOutputBytes } : {}),
        limits: {
          // Every task gets a pids ceiling: a fork bomb must never starve the host.
          pids: TASK_PIDS_LIMIT,
          ...(requirements !== undefined && requirements.memoryMb > 0 ? { memoryMb: requirements.memoryMb } : {}),
          ...(requirements !== undefined && requirements.cpu > 0 ? { cpu: requirements.cpu } : {}),
        },
        signal,
      },
      backend,
      {
        onStart: () => hooks.onStarted(),
        onProgress: (progress) => hooks.onProgress(JSON.stringify(progress)),
        onOutput: (chunk) => hooks.onOutput(chunk),
      },
    );
    try {
      return { ...mapOutcome(outcome), artifactIds: await this.uploadArtifacts(dispatch, outcome) };
    } finally {
      await removeAttemptDir(outcome.attemptDir).catch((error: unknown) => this.options.logger.warn({ err: error, attemptId: dispatch.attemptId }, 'removing the attempt dir failed'));
    }
  }

  private async uploadArtifacts(dispatch: DispatchTask, outcome: TaskRunOutcome): Promise<string[]> {
    if (outcome.artifacts.length === 0) return [];
    if (this.options.uploadArtifacts === undefined) {
      this.options.logger.warn({ attemptId: dispatch.attemptId, files: outcome.artifacts.length }, 'attempt wrote artifacts but this agent has no artifact uploader');
      return [];
    }
    return this.options.uploadArtifacts(dispatch, outcome.artifacts);
  }
}

function mapOutcome(outcome: TaskRunOutcome): Omit<TaskOutcome, 'artifactIds'> {
  return {
    exitCode: outcome.exitCode ?? -1,
    resultJson: outcome.resultPresent ? JSON.stringify(outcome.result) : '',
    outputTail: outcome.output,
    errorTail: outcome.error ?? '',
    failureKind: outcome.status === 'completed' ? '' : (outcome.failureKind ?? 'agent_error'),
    runtimeMs: outcome.runtimeMs,
  };
}

function failedBeforeStart(failureKind: TaskOutcome['failureKind'], message: string, startedAt: number): TaskOutcome {
  return { exitCode: -1, resultJson: '', outputTail: '', errorTail: message, failureKind, runtimeMs: Date.now() - startedAt, artifactIds: [] };
}
