/**
 * Projects of every account, in Store KV with compare-and-swap. The gateway
 * calls the CRUD, push and init methods; the agent side calls
 * {@link ProjectRegistry.revisionForDispatch} and {@link ProjectRegistry.recordNodeState}
 * and listens to {@link ProjectRegistry.events}.
 */
import type { JsonValue } from '../../shared/json.js';
import type { Logger } from '../../shared/logger.js';
import { UnavailableError } from '../../shared/errors.js';
import type { Store } from '../../store/index.js';
import { NoRevisionError, ProjectBusyError, ProjectExistsError, ProjectNotFoundError } from '../errors.js';
import { diffFileLists, type TarballDiff } from '../tarball/index.js';
import type { BuildPlan } from '../dockerfile/index.js';
import type { ProjectManifest } from '../manifest/index.js';
import { ProjectEvents } from './project-events.js';
import { DEFAULT_SETUP_TIMEOUT_S, projectKey, projectKeyPrefix, type ActiveRevision, type NodePrepareState, type ProjectRecord } from './project-record.js';
import { effectiveInitState, projectStatus, projectStatusDetails, type ProjectStatus, type ProjectStatusDetails } from './project-status.js';

/** CAS attempts before a contended update gives up (503). */
const MAX_CAS_ATTEMPTS = 20;

export interface ProjectRegistryOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** Epoch ms; tests pass a fake clock. */
  readonly now?: () => number;
}

/** Fields of `POST /api/v1/projects`. */
export interface NewProject {
  readonly name: string;
  readonly remote_dir: string;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly setup_timeout_s?: number | undefined;
}

/** Fields `PUT /api/v1/projects/:name` may change. */
export type ProjectMetadataPatch = Partial<Pick<ProjectRecord, 'remote_dir' | 'env' | 'setup_timeout_s'>>;

/** What an agent needs to prepare and run the active revision. */
export interface DispatchRevision {
  readonly account_id: string;
  readonly name: string;
  readonly content_hash: string;
  readonly tarball_sha256: string;
  readonly tarball_size: number;
  readonly build_plan: BuildPlan;
  readonly manifest: ProjectManifest;
  readonly env: Readonly<Record<string, string>>;
  readonly remote_dir: string;
  readonly setup_timeout_s: number;
}

/** Result of publishing a revision. */
export interface PublishResult {
  readonly record: ProjectRecord;
  /** Present when a previous revision existed. */
  readonly tarball_diff?: TarballDiff;
}

export class ProjectRegistry {
  readonly events: ProjectEvents;
  private readonly store: Store;
  private readonly now: () => number;

  constructor(options: ProjectRegistryOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.events = new ProjectEvents(options.logger);
  }

  /** Creates a project; {@link ProjectExistsError} when the account already has one by that name. */
  async create(accountId: string, input: NewProject): Promise<ProjectRecord> {
    const at = this.isoNow();
    const record: ProjectRecord = {
      name: input.name,
      account_id: accountId,
      remote_dir: input.remote_dir,
      env: { ...(input.env ?? {}) },
      setup_timeout_s: input.setup_timeout_s ?? DEFAULT_SETUP_TIMEOUT_S,
      created_at: at,
      updated_at: at,
      active_revision: null,
      init_state: 'uninitialized',
      init_started_at: null,
      init_message: null,
      nodes: {},
    };
    const written = await this.store.kvSet(projectKey(accountId, input.name), toJson(record), { ifVersion: 0 });
    if (written === null) throw new ProjectExistsError(input.name);
    return record;
  }

  /** The project, or {@link ProjectNotFoundError} (also for another account's project). */
  async get(accountId: string, name: string): Promise<ProjectRecord> {
    const entry = await this.store.kvGet(projectKey(accountId, name));
    if (entry === null) throw new ProjectNotFoundError(name);
    return entry.value as unknown as ProjectRecord;
  }

  /** The account's projects, by name. */
  async list(accountId: string): Promise<ProjectRecord[]> {
    const entries = await this.store.kvList(projectKeyPrefix(accountId));
    return entries.map((entry) => entry.value as unknown as ProjectRecord).sort((a, b) => a.name.localeCompare(b.name));
  }

  async updateMetadata(accountId: string, name: string, patch: ProjectMetadataPatch): Promise<ProjectRecord> {
    return this.mutate(accountId, name, (record) => {
      const next = { ...record, ...definedOnly(patch), updated_at: this.isoNow() };
      return { record: next, result: next };
    });
  }

  /** Deletes the project; its blobs stay (content-addressed, possibly shared) until blob GC exists. */
  async delete(accountId: string, name: string): Promise<void> {
    const record = await this.get(accountId, name);
    await this.store.kvDelete(projectKey(accountId, name));
    this.events.emitInvalidated({ accountId, name, contentHash: record.active_revision?.content_hash ?? null, reason: 'deleted' });
  }

  /** Status at read time (setup deadline applied). */
  status(record: ProjectRecord): ProjectStatus {
    return projectStatus(record, this.now());
  }

  /** Status plus per-worker reports (`status/details`). */
  statusDetails(record: ProjectRecord): ProjectStatusDetails {
    return projectStatusDetails(record, this.now());
  }

  /** {@link ProjectBusyError} while the project is initializing or refreshing. */
  assertNotBusy(record: ProjectRecord): void {
    const { state } = effectiveInitState(record, this.now());
    if (state === 'initializing' || state === 'refreshing') throw new ProjectBusyError(record.name, state);
  }

  /**
   * Makes `revision` the active one at once. Workers that were warm on the
   * previous revision are asked to refresh (`refreshing`); otherwise the
   * revision is prepared on demand (`uninitialized`). Re-pushing identical
   * content keeps the readiness it had.
   */
  async publishRevision(accountId: string, name: string, revision: ActiveRevision): Promise<PublishResult> {
    let refresh: readonly string[] = [];
    const result = await this.mutate(accountId, name, (record) => {
      this.assertNotBusy(record);
      const previous = record.active_revision;
      const same = previous?.content_hash === revision.content_hash;
      refresh = same || previous === null ? [] : workersOn(record, previous.content_hash, ['ready', 'preparing']);
      const at = this.isoNow();
      const next: ProjectRecord = same
        ? { ...record, active_revision: revision, updated_at: at }
        : {
            ...record,
            active_revision: revision,
            updated_at: at,
            init_state: refresh.length > 0 ? 'refreshing' : 'uninitialized',
            init_started_at: refresh.length > 0 ? at : null,
            init_message: null,
            nodes: refresh.length > 0 ? record.nodes : {},
          };
      const published: PublishResult = previous === null ? { record: next } : { record: next, tarball_diff: diffFileLists(previous.files, revision.files) };
      return { record: next, result: published };
    });
    if (refresh.length > 0) this.events.emitInitRequested({ accountId, name, contentHash: revision.content_hash, reason: 'refresh', workerIds: refresh });
    return result;
  }

  /**
   * POST /init: asks workers to prepare the active revision. Idempotent while
   * one is running; a ready project stays ready while more workers warm up.
   * (The $5 available-balance gate arrives with billing.)
   */
  async requestInit(accountId: string, name: string): Promise<ProjectRecord> {
    let fire = false;
    const record = await this.mutate(accountId, name, (current) => {
      const revision = current.active_revision;
      if (revision === null) throw new NoRevisionError(name);
      const { state } = effectiveInitState(current, this.now());
      fire = state !== 'initializing' && state !== 'refreshing';
      if (!fire || state === 'ready') return { record: current, result: current };
      const at = this.isoNow();
      const nodes = Object.fromEntries(Object.entries(current.nodes).filter(([, node]) => node.content_hash === revision.content_hash && node.state !== 'failed'));
      const next: ProjectRecord = { ...current, init_state: 'initializing', init_started_at: at, init_message: null, nodes, updated_at: at };
      return { record: next, result: next };
    });
    const contentHash = record.active_revision?.content_hash;
    if (fire && contentHash !== undefined) this.events.emitInitRequested({ accountId, name, contentHash, reason: 'init', workerIds: [] });
    return record;
  }

  /** POST /invalidate: forgets every worker's state; the next job or init prepares from scratch. */
  async invalidate(accountId: string, name: string): Promise<ProjectRecord> {
    const record = await this.mutate(accountId, name, (current) => {
      const next: ProjectRecord = { ...current, nodes: {}, init_state: 'uninitialized', init_started_at: null, init_message: null, updated_at: this.isoNow() };
      return { record: next, result: next };
    });
    this.events.emitInvalidated({ accountId, name, contentHash: record.active_revision?.content_hash ?? null, reason: 'invalidate' });
    return record;
  }

  /**
   * Agent report: `workerId` is `state` for `contentHash`. Reports for a
   * revision that is no longer active are ignored (returns false). The project
   * becomes `ready` once any worker is ready, `failed` once every reporting
   * worker failed, and `initializing` while workers prepare (a first job's
   * on-demand preparation counts too).
   */
  async recordNodeState(accountId: string, name: string, workerId: string, contentHash: string, state: NodePrepareState, message: string | null): Promise<boolean> {
    return this.mutate(accountId, name, (record) => {
      if (record.active_revision?.content_hash !== contentHash) return { record, result: false };
      const at = this.isoNow();
      const nodes = { ...record.nodes, [workerId]: { state, content_hash: contentHash, message, updated_at: at } };
      const current = Object.values(nodes).filter((node) => node.content_hash === contentHash);
      const failed = current.find((node) => node.state === 'failed');
      let init_state = record.init_state;
      let init_message: string | null = null;
      if (current.some((node) => node.state === 'ready')) init_state = 'ready';
      else if (current.some((node) => node.state === 'preparing')) init_state = record.init_state === 'refreshing' ? 'refreshing' : 'initializing';
      else if (failed) {
        init_state = 'failed';
        init_message = failed.message ?? 'preparation failed';
      }
      const started = init_state === 'initializing' || init_state === 'refreshing' ? (record.init_started_at ?? at) : null;
      return { record: { ...record, nodes, init_state, init_message, init_started_at: started, updated_at: at }, result: true };
    });
  }

  /** What an agent needs to prepare the active revision; null when the project is missing or has none. */
  async revisionForDispatch(accountId: string, name: string): Promise<DispatchRevision | null> {
    const entry = await this.store.kvGet(projectKey(accountId, name));
    const record = entry?.value as unknown as ProjectRecord | undefined;
    const revision = record?.active_revision;
    if (record === undefined || revision === null || revision === undefined) return null;
    return {
      account_id: accountId,
      name,
      content_hash: revision.content_hash,
      tarball_sha256: revision.tarball_sha256,
      tarball_size: revision.size,
      build_plan: revision.build_plan,
      manifest: revision.manifest,
      env: record.env,
      remote_dir: record.remote_dir,
      setup_timeout_s: record.setup_timeout_s,
    };
  }

  /** Read → change → CAS write, retried on a version conflict; `change` may throw to abort. */
  private async mutate<T>(accountId: string, name: string, change: (record: ProjectRecord) => { record: ProjectRecord; result: T }): Promise<T> {
    const key = projectKey(accountId, name);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const entry = await this.store.kvGet(key);
      if (entry === null) throw new ProjectNotFoundError(name);
      const current = entry.value as unknown as ProjectRecord;
      const { record, result } = change(current);
      if (record === current) return result;
      if ((await this.store.kvSet(key, toJson(record), { ifVersion: entry.version })) !== null) return result;
    }
    throw new UnavailableError(`project "${name}" is being updated concurrently; retry`);
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }
}

function workersOn(record: ProjectRecord, contentHash: string, states: readonly NodePrepareState[]): string[] {
  return Object.entries(record.nodes)
    .filter(([, node]) => node.content_hash === contentHash && states.includes(node.state))
    .map(([workerId]) => workerId)
    .sort();
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function toJson(record: ProjectRecord): JsonValue {
  return record as unknown as JsonValue;
}
