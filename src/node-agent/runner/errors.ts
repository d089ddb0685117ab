/** Runner errors with stable codes (ARCHITECTURE.md §6, STYLE.md practice 4). */
import { ComputalotError, type ComputalotErrorOptions } from '../../shared/errors.js';

/** The runner command fails {@link checkRunnerCommand}; the gateway answers 422. */
export class RunnerCommandRejectedError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('runner_command_rejected', 422, message, options);
  }
}

/** An allowed executable is not installed on this node (another node may have it). HTTP 503. */
export class ExecutableNotFoundError extends ComputalotError {
  constructor(
    readonly executable: string,
    message: string,
    options?: ComputalotErrorOptions,
  ) {
    super('executable_not_found', 503, message, { ...options, details: { executable, ...options?.details } });
  }
}
