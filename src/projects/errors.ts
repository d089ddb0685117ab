/**
 * Errors of the projects area. Each has a stable `code` clients may branch on;
 * the gateway's one error handler turns them into `{error: {code, message, details}}`.
 */
import { ComputalotError, type ComputalotErrorOptions, type ErrorDetails } from '../shared/errors.js';

/**
 * The body is not a gzip tarball (not gzip, corrupt gzip, or gzip of something
 * that is not a tar). The message is exactly `invalid tarball`, as the reference
 * documents; `details.reason` says what was wrong.
 */
export class InvalidTarballError extends ComputalotError {
  constructor(reason: string, options: ComputalotErrorOptions = {}) {
    super('invalid_tarball', 422, 'invalid tarball', { ...options, details: { reason, ...options.details } });
  }
}

/**
 * A well-formed tarball with a hostile or unsupported entry (path traversal,
 * absolute path, link leaving the tree, device file…) or one over the limits.
 * `details.entry` names the entry when there is one.
 */
export class UnsafeTarballError extends ComputalotError {
  constructor(entry: string | null, reason: string, details: ErrorDetails = {}) {
    super('unsafe_tarball', 422, entry === null ? `unsafe tarball: ${reason}` : `unsafe tarball entry "${entry}": ${reason}`, {
      details: { ...(entry === null ? {} : { entry }), reason, ...details },
    });
  }
}

/**
 * `computalot.project.json` is missing, not JSON, breaks the schema, or
 * references something the tarball lacks. The message names the manifest path
 * of the first problem (e.g. `validation.files[1]: "job.py" is not in the
 * tarball`); `details.issues` lists every problem.
 */
export class InvalidManifestError extends ComputalotError {
  constructor(issues: readonly ManifestIssue[]) {
    const first = issues[0];
    const message = first === undefined ? 'invalid manifest' : formatIssue(first);
    super('invalid_manifest', 422, message, { details: { issues: issues.map((issue) => ({ ...issue, message: formatIssue(issue) })) } });
  }
}

/** One manifest problem: where (`runtime.init.commands[0].cwd`) and what. */
export interface ManifestIssue {
  /** Dotted path inside the manifest; empty for the manifest as a whole. */
  readonly path: string;
  readonly problem: string;
}

function formatIssue(issue: ManifestIssue): string {
  return issue.path === '' ? `computalot.project.json: ${issue.problem}` : `${issue.path}: ${issue.problem}`;
}

/** The Dockerfile uses something the build cannot honour. Names the line. */
export class InvalidDockerfileError extends ComputalotError {
  constructor(file: string, line: number, problem: string) {
    super('invalid_dockerfile', 422, `${file}:${line}: ${problem}`, { details: { file, line, problem } });
  }
}

/** No such project in the caller's account — also what another account's project answers. HTTP 404. */
export class ProjectNotFoundError extends ComputalotError {
  constructor(name: string) {
    super('project_not_found', 404, `project "${name}" not found`, { details: { name } });
  }
}

/** A project with this name already exists in the account. HTTP 409. */
export class ProjectExistsError extends ComputalotError {
  constructor(name: string) {
    super('project_exists', 409, `project "${name}" already exists`, { details: { name } });
  }
}

/** The project is initializing or refreshing; pushes wait until that ends. HTTP 409. */
export class ProjectBusyError extends ComputalotError {
  constructor(name: string, initState: string) {
    super('project_busy', 409, `project "${name}" is ${initState}; poll GET /api/v1/projects/${name}/status until init_state is no longer initializing or refreshing, then retry`, {
      details: { name, init_state: initState },
    });
  }
}

/** Init asked for a project that has no pushed revision yet. HTTP 409. */
export class NoRevisionError extends ComputalotError {
  constructor(name: string) {
    super('project_has_no_revision', 409, `project "${name}" has no pushed revision; push a tarball first`, { details: { name } });
  }
}

/** The pushed body is over the limit. HTTP 413. */
export class TarballTooLargeError extends ComputalotError {
  constructor(limitBytes: number) {
    super('payload_too_large', 413, `project tarball exceeds ${limitBytes} bytes`, { details: { limit_bytes: limitBytes } });
  }
}
