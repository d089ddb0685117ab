/**
 * The stored shape of a project: one Store KV entry per project, keyed by
 * account (`project:<accountId>:<name>`), updated with compare-and-swap on the
 * entry's version so concurrent pushes, inits and node reports never lose an update.
 */
import type { BuildPlan } from '../dockerfile/index.js';
import type { ProjectManifest } from '../manifest/index.js';

/**
 * Project-level readiness of the active revision:
 * `uninitialized` (published, nothing prepared: on demand at the first job),
 * `initializing` (workers preparing after init or a first job),
 * `refreshing` (a push replaced a revision that was warm; warm workers re-prepare),
 * `ready` (prepared on at least one worker), `failed` (no worker could prepare it).
 */
export type InitState = 'uninitialized' | 'initializing' | 'refreshing' | 'ready' | 'failed';

/** A worker's state for one content hash, as the agent reports it. */
export type NodePrepareState = 'preparing' | 'ready' | 'failed';

export interface NodeRecord {
  readonly state: NodePrepareState;
  readonly content_hash: string;
  readonly message: string | null;
  readonly updated_at: string;
}

export interface RevisionFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Normalized mode (0o755 or 0o644). */
  readonly mode: number;
}

/** The published revision: everything an agent needs to prepare it, plus the file list for diffs. */
export interface ActiveRevision {
  /** See docs/projects.md "Revision hashing". */
  readonly content_hash: string;
  /** Name of the tarball in the blob store. */
  readonly tarball_sha256: string;
  /** Tarball (compressed) size in bytes. */
  readonly size: number;
  readonly unpacked_size: number;
  readonly pushed_at: string;
  readonly manifest: ProjectManifest;
  readonly build_plan: BuildPlan;
  readonly files: readonly RevisionFile[];
}

export interface ProjectRecord {
  readonly name: string;
  readonly account_id: string;
  readonly remote_dir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly setup_timeout_s: number;
  readonly created_at: string;
  readonly updated_at: string;
  readonly active_revision: ActiveRevision | null;
  readonly init_state: InitState;
  /** When the current initializing/refreshing began; bounds it by `setup_timeout_s`. */
  readonly init_started_at: string | null;
  /** Why the project is `failed`, when it is. */
  readonly init_message: string | null;
  readonly nodes: Readonly<Record<string, NodeRecord>>;
}

/** Project names: lower-case, URL- and key-safe. */
export const PROJECT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Default `setup_timeout_s` (the reference's 600 s). */
export const DEFAULT_SETUP_TIMEOUT_S = 600;

/** KV key of a project; every read and write is scoped by the owning account. */
export function projectKey(accountId: string, name: string): string {
  return `${projectKeyPrefix(accountId)}${name}`;
}

/** Prefix listing one account's projects. */
export function projectKeyPrefix(accountId: string): string {
  return `project:${accountId}:`;
}
