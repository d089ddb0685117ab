/**
 * Sandbox errors. They extend {@link ComputalotError} so a dispatch that cannot be
 * sandboxed surfaces with a stable code instead of a bare `Error`.
 */
import { ComputalotError, type ComputalotErrorOptions } from '../../shared/errors.js';

/** No backend that satisfies the request exists on this node. HTTP 503. */
export class SandboxUnavailableError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('sandbox_unavailable', 503, message, options);
  }
}

/**
 * Only the unisolated `process` backend is left and the config does not say
 * `allow_unsandboxed`: project code must not run bare on a cluster agent. HTTP 503.
 */
export class UnsandboxedRefusedError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('sandbox_unsandboxed_refused', 503, message, options);
  }
}

/** A launch spec is unusable (relative path, empty argv, cwd outside the mounts). HTTP 500. */
export class SandboxSpecError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('sandbox_spec_invalid', 500, message, options);
  }
}
