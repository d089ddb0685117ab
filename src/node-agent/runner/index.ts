/** Public surface of the runner protocol (ARCHITECTURE.md §6). */
export { runTask } from './run-task.js';
export { DEFAULT_GRACE_S, type FailureKind, type TaskRunHooks, type TaskRunOutcome, type TaskRunSpec } from './types.js';
export { ALLOWED_EXECUTABLES, BLOCKED_SHELLS, checkRunnerCommand, type AllowedExecutable, type RunnerCommandCheck } from './allowed-executables.js';
export { ExecutableResolver, type ResolvedExecutable } from './resolve-executable.js';
export { createAttemptDir, listArtifacts, removeAttemptDir, MAX_RESULT_BYTES, type ArtifactFile, type AttemptDir } from './attempt-dir.js';
export { baseRuntimeEnv, buildTaskEnv, PROJECT_ENV_FILES, type TaskEnv, type TaskEnvInput } from './task-env.js';
export { parseDotenv, type DotenvParse } from './dotenv.js';
export { DEFAULT_OUTPUT_BYTES, ERROR_TAIL_CHARS, OutputRing, PROGRESS_PREFIX, ProgressLineScanner, errorTail } from './output-capture.js';
export { ExecutableNotFoundError, RunnerCommandRejectedError } from './errors.js';
