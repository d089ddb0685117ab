/**
 * The build plan: what the agent executes, in order, to turn a revision into a
 * runnable tree on a worker. There is no image registry (ARCHITECTURE.md §7):
 * the build runs on the worker's base runtime, so `FROM` is recorded, not
 * pulled, and `RUN` steps execute in the sandbox at prepare time.
 */

/** Ensure `path` exists (what WORKDIR does in Docker). */
export interface WorkdirStep {
  readonly kind: 'workdir';
  readonly line: number;
  readonly path: string;
}

/**
 * Copy build-context entries into the image, with Docker semantics: a
 * directory source copies its *contents*; a destination ending in `/` (or
 * several sources) is a directory.
 */
export interface CopyStep {
  readonly kind: 'copy';
  readonly line: number;
  /** Tarball-relative paths (`.` for the root), wildcards already resolved. */
  readonly sources: string[];
  /** Absolute path in the image. */
  readonly dest: string;
}

/** Run a command in the sandbox at prepare time. */
export interface RunStep {
  readonly kind: 'run';
  readonly line: number;
  /** Full argv; shell form is `[...shell, command]`. */
  readonly argv: string[];
  readonly workdir: string;
  /** ARG values in scope, overridden by ENV (Docker's precedence). */
  readonly env: Record<string, string>;
}

export type BuildStep = WorkdirStep | CopyStep | RunStep;

/** An instruction that was accepted but has no effect here. */
export interface IgnoredInstruction {
  readonly line: number;
  readonly instruction: string;
}

/** Stored with the revision; `version` changes if the shape ever does. */
export interface BuildPlan {
  readonly version: 1;
  /** Dockerfile path in the tarball. */
  readonly dockerfile: string;
  /** Build context, tarball-relative (`.` for the root). */
  readonly context: string;
  /** Image named by the first `FROM` of the chosen stage's chain, e.g. `python:3.11-slim`. */
  readonly base_image: string;
  /** Chosen stage (`build.target`, else the last), null when it has no `AS` name. */
  readonly stage: string | null;
  /** Effective build args of the chosen stage. */
  readonly args: Record<string, string>;
  /** Final ENV: the image environment every task starts from. */
  readonly env: Record<string, string>;
  /** Final WORKDIR (`/` when never set). */
  readonly workdir: string;
  readonly shell: string[];
  readonly steps: BuildStep[];
  readonly ignored: IgnoredInstruction[];
}
