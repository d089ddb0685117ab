import { jobRef } from '../actors/shared/ids.js';
import { normaliseRequirements } from '../actors/shared/resources.js';
import type { ControllerNode } from '../actors/runtime/index.js';
import type { DispatchTask } from '../gen/computalot/agent/v1/agent.js';
import type { JsonObject, JsonValue } from '../shared/json.js';

/** What the task machine's `task.dispatch` effect carries. */
export interface DispatchEffectData {
  readonly taskId: string;
  readonly jobId: string;
  readonly attemptId: string;
  readonly workerId: string;
  readonly attempt: number;
  readonly payload: JsonValue;
  readonly requirements: JsonValue;
  readonly timeoutS: number;
  readonly graceS: number;
}

/** Where an agent finds the project revision a job runs. */
export interface DispatchRevisionRef {
  readonly contentHash: string;
  /** URL (or `blob:<sha256>`) the agent fetches the revision's tarball from. */
  readonly tarballRef: string;
  /** The project's `env` map (third layer of the task environment). */
  readonly env: Readonly<Record<string, string>>;
}

/** Looks up the active revision of an account's project; null when it has none. */
export type RevisionResolver = (accountId: string, project: string) => Promise<DispatchRevisionRef | null>;

/** Thrown when the job behind a dispatch cannot be read: the attempt is not sent. */
export class DispatchSourceMissingError extends Error {
  readonly code = 'DISPATCH_SOURCE_MISSING';
}

/**
 * The job-level parts of every dispatch of a job. They come from the
 * submission, which never changes, so a scheduler may keep them per job
 * instead of reading the job's view (which carries the whole spec, e.g. a
 * fan-out's items) once per attempt.
 */
export interface JobDispatchInfo {
  readonly accountId: string;
  readonly project: string;
  readonly runnerCommand: readonly string[];
  readonly metaEnv: Readonly<Record<string, string>>;
}

/** A job's {@link JobDispatchInfo} from its read model; null when it has none. */
export async function readJobDispatchInfo(node: Pick<ControllerNode, 'readModels'>, jobId: string): Promise<JobDispatchInfo | null> {
  const [job] = (await node.readModels([jobRef(jobId)])) as (JsonObject | null)[];
  if (!job) return null;
  const meta = isObject(job.meta) ? job.meta : {};
  return {
    accountId: typeof job.account_id === 'string' ? job.account_id : '',
    project: typeof job.project === 'string' ? job.project : '',
    runnerCommand: Array.isArray(job.runner_command) ? job.runner_command.map(String) : [],
    metaEnv: stringMap(meta.env),
  };
}

/**
 * The `DispatchTask` message for one attempt: the task's own data from the
 * effect, the job-level parts (runner command, project, `meta.env`) from
 * `jobInfo` (see {@link readJobDispatchInfo}).
 */
export async function buildDispatch(jobInfo: (jobId: string) => Promise<JobDispatchInfo | null>, data: DispatchEffectData, resolveRevision?: RevisionResolver): Promise<DispatchTask> {
  const job = await jobInfo(data.jobId);
  if (!job) throw new DispatchSourceMissingError(`job ${data.jobId} of attempt ${data.attemptId} has no read model`);
  const requirements = normaliseRequirements(data.requirements);
  const { accountId, project } = job;
  const revision = project && resolveRevision ? await resolveRevision(accountId, project) : null;
  if (project && !revision) throw new DispatchSourceMissingError(`project ${project} of job ${data.jobId} has no published revision`);
  return {
    taskId: data.taskId,
    attemptId: data.attemptId,
    fencingToken: data.attempt,
    jobId: data.jobId,
    project,
    // The active revision: pushes after submit are picked up by later attempts.
    contentHash: revision?.contentHash ?? '',
    runnerCommand: [...job.runnerCommand],
    payloadJson: JSON.stringify(data.payload ?? {}),
    // 1-based attempt number: a runner can tell a retry from the first try (the payload is the same).
    env: { COMPUTALOT_TASK_ATTEMPT: String(data.attempt) },
    accountId,
    projectEnv: { ...(revision?.env ?? {}) },
    metaEnv: { ...job.metaEnv },
    tarballUrl: revision?.tarballRef ?? '',
    maxOutputBytes: 10_240,
    graceS: data.graceS,
    timeoutS: data.timeoutS,
    requirements: {
      cpu: requirements.cpu,
      memoryMb: requirements.memoryMb,
      storageGb: requirements.storageGb,
      gpus: requirements.gpuCount,
      gpuMemoryMb: requirements.gpuMemoryMb,
    },
    sandboxKind: '',
  };
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: JsonValue | undefined): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, typeof v === 'string' ? v : JSON.stringify(v)]));
}
