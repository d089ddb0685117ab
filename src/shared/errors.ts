/**
 * Named error classes with stable codes. Code anywhere throws these; the gateway
 * maps `httpStatus` + `code` to the `{ error: { code, message, details } }` body in
 * one place, so no route picks status codes by hand.
 */

/** JSON-serialisable detail attached to an error (field paths, limits, ids). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options every Computalot error accepts. */
export interface ComputalotErrorOptions {
  /** Machine-readable context, returned to API clients as `error.details`. */
  readonly details?: ErrorDetails;
  /** The underlying error; logged, never sent to clients. */
  readonly cause?: unknown;
}

/**
 * Base of every error the platform raises on purpose.
 *
 * `code` is a stable snake_case identifier clients may branch on; `message` is
 * for humans and may change wording between versions.
 */
export class ComputalotError extends Error {
  /** Stable identifier, e.g. `not_found`. */
  readonly code: string;
  /** HTTP status the gateway answers with. */
  readonly httpStatus: number;
  /** Safe-to-expose context; `undefined` when there is none. */
  readonly details: ErrorDetails | undefined;

  constructor(code: string, httpStatus: number, message: string, options: ComputalotErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
    this.details = options.details;
  }
}

/** Input failed validation (bad payload, manifest, tarball…). HTTP 422. */
export class ValidationError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('validation_failed', 422, message, options);
  }
}

/**
 * The resource does not exist — or belongs to another account, which must
 * answer exactly like a missing one (ARCHITECTURE.md §8). HTTP 404.
 */
export class NotFoundError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('not_found', 404, message, options);
  }
}

/** The request conflicts with current state (busy project, no capacity). HTTP 409. */
export class ConflictError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('conflict', 409, message, options);
  }
}

/** Missing or invalid credentials. HTTP 401. */
export class UnauthorizedError extends ComputalotError {
  constructor(message = 'missing or invalid token', options?: ComputalotErrorOptions) {
    super('unauthorized', 401, message, options);
  }
}

/** Authenticated but not allowed (viewer role writes, closed registration). HTTP 403. */
export class ForbiddenError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('forbidden', 403, message, options);
  }
}

/** A dependency (store, shard owner) cannot serve the request right now. HTTP 503. */
export class UnavailableError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('unavailable', 503, message, options);
  }
}

/**
 * `cluster.yml` or a `COMPUTALOT_*` variable is invalid. Raised at startup, before
 * anything listens; the 500 only matters if one ever escapes into a request.
 */
export class ConfigError extends ComputalotError {
  constructor(message: string, options?: ComputalotErrorOptions) {
    super('config_invalid', 500, message, options);
  }
}

/** Narrowing helper for `catch (error: unknown)` blocks. */
export function isComputalotError(error: unknown): error is ComputalotError {
  return error instanceof ComputalotError;
}
