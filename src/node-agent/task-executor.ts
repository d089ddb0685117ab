/**
 * How the node agent runs one dispatched attempt. The agent owns the transport
 * (accept, reports, cancel, reconnect); a {@link TaskExecutor} owns the runner
 * protocol (payload/result files, sandbox, timeout, process tree). The product's
 * executor is built on `src/node-agent/runner/`; the agent only needs this shape.
 */
import type { DispatchTask } from '../gen/computalot/agent/v1/agent.js';

/** Why an attempt failed, as `TaskFinished.failure_kind` carries it; `''` on success. */
export type TaskFailureKind = '' | 'exit_code' | 'timeout' | 'cancelled' | 'sandbox' | 'prepare' | 'result_invalid' | 'agent_error' | 'rejected';

/** Callbacks the executor calls while the attempt runs; each is cheap and never throws. */
export interface TaskExecutionHooks {
  /** The runner process started (the agent reports TaskStarted). */
  onStarted(): void;
  /** A `COMPUTALOT_PROGRESS:` line's JSON text, verbatim. */
  onProgress(progressJson: string): void;
  /** New stdout/stderr text, in arrival order. */
  onOutput(chunk: string): void;
}

/** Node resources the agent set aside for the attempt. */
export interface TaskPlacement {
  /** CUDA indices of the GPUs reserved for it (e.g. for CUDA_VISIBLE_DEVICES); empty for CPU work. */
  readonly gpuIndices: readonly number[];
}

/** Terminal outcome of an attempt; becomes `TaskFinished` (the agent adds the attempt id). */
export interface TaskOutcome {
  /** Process exit code; -1 when it never started or died by a signal. */
  readonly exitCode: number;
  /** The result file's JSON text; `''` when none was written. */
  readonly resultJson: string;
  /** Last ≤ 10 KB (or `max_output_bytes`) of combined output. */
  readonly outputTail: string;
  /** Last ~1000 characters of error output. */
  readonly errorTail: string;
  readonly failureKind: TaskFailureKind;
  /** Wall time of the runner process, in ms. */
  readonly runtimeMs: number;
  /** Artifacts the attempt uploaded (`art_…`). */
  readonly artifactIds: readonly string[];
}

/** Runs dispatched attempts. One instance serves every attempt of an agent, concurrently. */
export interface TaskExecutor {
  /**
   * Runs `dispatch` to completion and resolves with its outcome — also for a
   * failed or timed-out task (a rejection means the executor itself broke; the
   * agent reports it as `agent_error`). When `signal` aborts (CancelTask, agent
   * stopping), stop the attempt the way a timeout does (SIGTERM, grace, SIGKILL
   * of the tree) and resolve with `failureKind: 'cancelled'`.
   */
  execute(dispatch: DispatchTask, hooks: TaskExecutionHooks, signal: AbortSignal, placement: TaskPlacement): Promise<TaskOutcome>;
}
