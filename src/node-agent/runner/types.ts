/** Inputs and outputs of {@link runTask} (the runner protocol of the reference). */
import type { EnforcedLimits, SandboxKind, SandboxLimits } from '../sandbox/sandbox.js';
import type { ArtifactFile, AttemptDir } from './attempt-dir.js';
import type { ExecutableResolver } from './resolve-executable.js';

/** Default seconds between SIGTERM and SIGKILL after a timeout or cancel. */
export const DEFAULT_GRACE_S = 10;

/** One attempt to run. */
export interface TaskRunSpec {
  /** Unique per attempt; names the attempt directory and the sandbox. */
  readonly attemptId: string;
  /** Node work root; the attempt directory is created below it. */
  readonly workRoot: string;
  /** Prepared, extracted project tree (read-only; the task gets a copy). None for recipes. */
  readonly projectDir?: string;
  /** `runner_command`, e.g. `["python", "train.py"]`. */
  readonly runnerCommand: readonly string[];
  /** Written to `payload.json` (`COMPUTALOT_TASK_PAYLOAD`). */
  readonly payload: unknown;
  /** Wall-clock limit; then SIGTERM, `graceS`, SIGKILL of the whole tree. */
  readonly timeoutS: number;
  /** Seconds between SIGTERM and SIGKILL; default {@link DEFAULT_GRACE_S}. */
  readonly graceS?: number;
  /** Layer 3 of the env order. */
  readonly projectEnv?: Readonly<Record<string, string>>;
  /** Layer 4 of the env order (`meta.env`). */
  readonly metaEnv?: Readonly<Record<string, string>>;
  /** Extra protocol variables (`COMPUTALOT_ARTIFACT_<key>`, ids); keys must start with `COMPUTALOT_`. */
  readonly protocolEnv?: Readonly<Record<string, string>>;
  /** Further host paths the task may read (downloaded input artifacts). */
  readonly extraReadOnlyPaths?: readonly string[];
  readonly limits?: SandboxLimits;
  /** Bytes of output kept; default 10 KB. */
  readonly maxOutputBytes?: number;
  /** Aborting cancels the attempt (TERM, grace, KILL → `cancelled`). */
  readonly signal?: AbortSignal;
  /** Per-node executable cache; default a process-wide one. */
  readonly resolver?: ExecutableResolver;
}

/** Live callbacks while the task runs. */
export interface TaskRunHooks {
  /** Decoded output as it arrives (live feedback). */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** A parsed `COMPUTALOT_PROGRESS:{json}` object. */
  readonly onProgress?: (progress: unknown) => void;
  /** The sandbox has started the task. */
  readonly onStart?: (info: { readonly pid: number; readonly backend: SandboxKind; readonly enforced: EnforcedLimits }) => void;
}

/**
 * Why an attempt failed, in the vocabulary of `TaskFinished.failure_kind`
 * (proto/computalot/agent/v1/agent.proto).
 */
export type FailureKind = 'exit_code' | 'timeout' | 'cancelled' | 'sandbox' | 'result_invalid' | 'agent_error';

/** Everything the agent reports about a finished attempt. */
export interface TaskRunOutcome {
  readonly status: 'completed' | 'failed';
  /** Set exactly when `status` is `failed`. */
  readonly failureKind?: FailureKind;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The kernel's OOM killer fired in the task's cgroup. */
  readonly oomKilled: boolean;
  /** The result file's JSON value; `null` when none was written (see `resultPresent`). */
  readonly result: unknown;
  readonly resultPresent: boolean;
  /** Last ≤ 10 KB of interleaved stdout/stderr. */
  readonly output: string;
  readonly outputTruncated: boolean;
  /** Last ~1000 characters of output, on failure. */
  readonly error?: string;
  readonly runtimeMs: number;
  readonly artifacts: readonly ArtifactFile[];
  readonly latestProgress?: unknown;
  readonly progressCount: number;
  /** Ignored env entries, unparsable progress lines, a missing result file. */
  readonly warnings: readonly string[];
  readonly backend: SandboxKind;
  readonly enforced: EnforcedLimits;
  readonly attemptDir: AttemptDir;
}
