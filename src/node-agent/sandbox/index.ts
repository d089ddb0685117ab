/** Public surface of the sandbox bindings (ARCHITECTURE.md §6). */
export type { EnforcedLimits, SandboxBackend, SandboxedProcess, SandboxExit, SandboxKind, SandboxLaunchSpec, SandboxLimits } from './sandbox.js';
export { SANDBOX_KINDS } from './sandbox.js';
export { SandboxSpecError, SandboxUnavailableError, UnsandboxedRefusedError } from './errors.js';
export { TaskCgroup, detectCgroupVersion, type CgroupVersion } from './cgroups.js';
export { DEFAULT_RUNTIME_PATHS, DEFAULT_TMPFS_MB } from './mounts.js';
export { BwrapBackend, buildBwrapArgv } from './bwrap.js';
export { GvisorBackend, gvisorPidsOverhead, type GvisorOptions } from './gvisor.js';
export { buildOciConfig, type OciConfig } from './oci-bundle.js';
export { NsjailBackend, buildNsjailArgv } from './nsjail.js';
export { ProcessBackend } from './process.js';
export { DEFAULT_BACKEND_ORDER, createSandboxBackends, selectSandboxBackend, type BackendSelection, type SelectBackendOptions } from './select-backend.js';
