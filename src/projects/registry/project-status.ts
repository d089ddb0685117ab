/**
 * Readiness as clients see it (`GET /api/v1/projects/:name/status`): derived
 * from the record at read time, so a stuck init expires by `setup_timeout_s`
 * even when no agent ever reports back.
 */
import type { InitState, ProjectRecord } from './project-record.js';

/** The top-level readiness view. */
export interface ProjectStatus {
  readonly name: string;
  readonly content_hash: string | null;
  /** A revision is published: jobs may be submitted now. */
  readonly can_accept_new_jobs: boolean;
  /** Platform-side preparation finished for the active content hash (on at least one worker). */
  readonly ready_for_jobs: boolean;
  readonly init_state: InitState;
  readonly status_message: string;
  readonly next_action: string;
  readonly updated_at: string;
}

/** One worker's line in `status/details`. */
export interface NodeStatus {
  readonly worker_id: string;
  readonly state: string;
  readonly content_hash: string;
  /** False when the report concerns an older revision. */
  readonly current: boolean;
  readonly message: string | null;
  readonly updated_at: string;
}

export interface ProjectStatusDetails extends ProjectStatus {
  readonly setup_timeout_s: number;
  readonly init_started_at: string | null;
  readonly init_message: string | null;
  readonly nodes: NodeStatus[];
}

/** The init state after applying the setup deadline, plus the failure message if any. */
export function effectiveInitState(record: ProjectRecord, now: number): { readonly state: InitState; readonly message: string | null } {
  const busy = record.init_state === 'initializing' || record.init_state === 'refreshing';
  if (busy && record.init_started_at !== null && Date.parse(record.init_started_at) + record.setup_timeout_s * 1000 < now) {
    return { state: 'failed', message: `${record.init_state} did not finish within setup_timeout_s (${record.setup_timeout_s} s)` };
  }
  return { state: record.init_state, message: record.init_message };
}

/** The status view of `record` at `now`. */
export function projectStatus(record: ProjectRecord, now: number): ProjectStatus {
  const { state, message } = effectiveInitState(record, now);
  const revision = record.active_revision;
  const base = `/api/v1/projects/${record.name}`;
  const short = revision?.content_hash.slice(0, 12) ?? '';
  const readyNodes = Object.values(record.nodes).filter((node) => node.state === 'ready' && node.content_hash === revision?.content_hash).length;
  let status_message: string;
  let next_action: string;
  if (revision === null) {
    status_message = 'no revision pushed yet';
    next_action = `push a gzip tarball with a Dockerfile and computalot.project.json: POST ${base}/push`;
  } else if (state === 'uninitialized') {
    status_message = `revision ${short} is published; workers prepare it on demand when the first job arrives`;
    next_action = `submit jobs now, or POST ${base}/init to prepare available workers ahead of time`;
  } else if (state === 'initializing' || state === 'refreshing') {
    status_message = `revision ${short} is published; ${state === 'refreshing' ? 'warm workers are re-preparing it' : 'workers are preparing it'}`;
    next_action = `jobs can be submitted now; poll GET ${base}/status until init_state is ready for a warm start`;
  } else if (state === 'ready') {
    status_message = `revision ${short} is prepared on ${readyNodes} worker${readyNodes === 1 ? '' : 's'}`;
    next_action = 'submit jobs; run one small smoke job after setup changes';
  } else {
    status_message = `preparing revision ${short} failed${message === null ? '' : `: ${message}`}`;
    next_action = `see GET ${base}/status/details, fix the Dockerfile or manifest, push, POST ${base}/invalidate, then POST ${base}/init`;
  }
  return {
    name: record.name,
    content_hash: revision?.content_hash ?? null,
    can_accept_new_jobs: revision !== null,
    ready_for_jobs: revision !== null && state === 'ready',
    init_state: state,
    status_message,
    next_action,
    updated_at: record.updated_at,
  };
}

/** Status plus every worker's report, current revision first. */
export function projectStatusDetails(record: ProjectRecord, now: number): ProjectStatusDetails {
  const active = record.active_revision?.content_hash;
  const nodes = Object.entries(record.nodes)
    .map(([worker_id, node]): NodeStatus => ({ worker_id, ...node, current: node.content_hash === active }))
    .sort((a, b) => Number(b.current) - Number(a.current) || a.worker_id.localeCompare(b.worker_id));
  return {
    ...projectStatus(record, now),
    setup_timeout_s: record.setup_timeout_s,
    init_started_at: record.init_started_at,
    init_message: effectiveInitState(record, now).message,
    nodes,
  };
}
