/**
 * How the node agent prepares a project revision (fetch the tarball, extract it
 * into the cache keyed by content hash, run `runtime.init` and `validation` in
 * the sandbox). The agent owns the transport and reports; a {@link ProjectPreparer}
 * owns the work. The product's preparer is built on `src/projects/`.
 */
import type { PrepareProject } from '../gen/computalot/agent/v1/agent.js';

/** Per-node state of a revision, as the reference names them. */
export type ProjectPreparationState = 'initializing' | 'ready' | 'failed';

/** One `ProjectPrepared` report (the agent adds project and content hash). */
export interface ProjectPreparationReport {
  readonly state: ProjectPreparationState;
  /** Human-readable detail: the failing step's error tail, or `''`. */
  readonly message: string;
}

/** Prepares project revisions on this node. Calls for the same revision are never concurrent. */
export interface ProjectPreparer {
  /**
   * Makes the revision ready to run and resolves with the final report (`ready`
   * or `failed`; a rejection is reported as `failed` with its message). A revision
   * already prepared resolves `ready` at once. `report` may send intermediate
   * `initializing` updates (the agent sends the first one itself).
   */
  prepare(request: PrepareProject, report: (update: ProjectPreparationReport) => void, signal: AbortSignal): Promise<ProjectPreparationReport>;
}
