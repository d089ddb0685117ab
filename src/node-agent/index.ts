/** Public surface of the node agent area. */
export { NodeAgent, type NodeAgentOptions, type NodeAgentStopOptions, type AgentRegistration } from './agent.js';
export { detectCapacity, CapacityLedger, type DeclaredCapacity, type DetectedCapacity, type NodeProfile } from './capacity.js';
export { detectNvidiaGpus, parseNvidiaSmiGpus, NVIDIA_SMI_ARGS } from './gpu-detect.js';
export { parseControllerTargets, backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './reconnect.js';
export type { TaskExecutor, TaskExecutionHooks, TaskOutcome, TaskPlacement, TaskFailureKind } from './task-executor.js';
export type { ProjectPreparer, ProjectPreparationReport, ProjectPreparationState } from './project-preparer.js';
export { RunnerTaskExecutor, DEFAULT_TASK_TIMEOUT_S, type RunnerTaskExecutorOptions } from './runner-task-executor.js';
export { detectSandboxKinds, type SandboxSetting, type DetectSandboxKindsOptions } from './sandbox-kinds.js';
