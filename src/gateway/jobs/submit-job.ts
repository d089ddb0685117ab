import { jobRef } from '../../actors/shared/ids.js';
import type { ControllerNode } from '../../actors/runtime/index.js';
import { ComputalotError, ValidationError } from '../../shared/errors.js';
import { newJobId } from '../../shared/ids.js';
import type { JsonObject } from '../../shared/json.js';
import type { JobIndex } from '../../jobs/job-index.js';
import { JobSpecStore } from '../../jobs/job-spec-store.js';
import type { Store } from '../../store/store.js';
import type { JobSubmitBody } from '../schemas/jobs.schema.js';
import { formatPlanErrors, validateJobPlan } from '../../scheduler/plan-tasks.js';

/** Default per-task timeout when a submission names none (seconds). */
export const DEFAULT_TIMEOUT_S = 600;


/** What the caller resolved about the submission's project before it becomes a job. */
export interface ResolvedProject {
  readonly name: string;
  /** Active revision the job's tasks run; fixed at submit. */
  readonly contentHash: string;
  /** The manifest's `entrypoint.command`, used when the submission has no `runner_command`. */
  readonly entrypoint: readonly string[] | null;
}

export interface SubmitDeps {
  readonly node: ControllerNode;
  /** Looks up the caller's project (404 when missing or another account's). */
  readonly resolveProject: (accountId: string, name: string) => Promise<ResolvedProject>;
  /** Why `argv` may not run (shells, unknown executables), or null when it may. */
  readonly checkRunnerCommand: (argv: readonly string[]) => string | null;
  /** Why `url` may not be a `callback_url` (SSRF policy, jobs/webhooks), or null when it may. */
  readonly checkCallbackUrl: (url: string) => string | null;
  /** The account's job lists; the job is recorded there before it is submitted. */
  readonly index: JobIndex;
  /** Where the job's bulky submission fields are stored. */
  readonly store: Store;
}

/**
 * Turns a validated body into a `job.submit` event. The event is durable in
 * the job's mailbox before this returns: an accepted job is never lost, and
 * the id is fixed now so a client can poll it at once.
 */
export async function submitJob(deps: SubmitDeps, accountId: string, body: JobSubmitBody): Promise<{ jobId: string }> {
  const type = body.type ?? 'structured_runner';
  if (body.reservation !== undefined) throw unsupported('"reservation"');
  if (body.recipe !== undefined) throw unsupported('sealed recipes');
  // The same validation the planner applies: a job that is accepted always plans.
  const planErrors = validateJobPlan(type, JSON.parse(JSON.stringify(body)) as JsonObject);
  if (planErrors.length > 0) throw new ValidationError(formatPlanErrors(planErrors), { details: { errors: planErrors } });
  if (body.execution_policy === 'sealed') throw new ValidationError('execution_policy "sealed" is only for platform recipes; user projects run sandboxed', { details: { field: 'execution_policy' } });
  if (!body.project) throw new ValidationError('project is required (the project whose code the tasks run)', { details: { field: 'project' } });
  const callbackRefusal = body.callback_url === undefined ? null : deps.checkCallbackUrl(body.callback_url);
  if (callbackRefusal) throw new ComputalotError('callback_url_not_allowed', 422, callbackRefusal, { details: { field: 'callback_url' } });

  await checkDependencies(deps, accountId, body.depends_on ?? []);
  const project = await deps.resolveProject(accountId, body.project);
  const runnerCommand = body.runner_command ?? project.entrypoint;
  if (!runnerCommand || runnerCommand.length === 0) {
    throw new ValidationError('runner_command is required when the project manifest has no entrypoint.command', { details: { field: 'runner_command' } });
  }
  const refusal = deps.checkRunnerCommand(runnerCommand);
  if (refusal) throw new ValidationError(refusal, { details: { field: 'runner_command', value: runnerCommand[0] } });

  const requirements = { ...(body.requirements ?? {}) };
  if (body.gpu_required && requirements.profile === undefined) requirements.profile = 'gpu';
  const spec: JsonObject = JSON.parse(
    JSON.stringify({ ...body, type, runner_command: runnerCommand, requirements, project_content_hash: project.contentHash }),
  ) as JsonObject;

  const jobId = newJobId();
  // Listed first: a crash before the send leaves a list entry readers skip, never an unlisted job.
  await deps.index.record({ accountId, jobId, project: project.name, tags: body.tags ?? [], createdAt: Date.now() });
  // Task inputs are stored once, apart from the job actor (see job-spec-store.ts).
  const { compact, bulky } = JobSpecStore.split(spec);
  await JobSpecStore.for(deps.store).save(jobId, bulky);
  await deps.node.send([
    deps.node.message(
      jobRef(jobId),
      {
        type: 'job.submit',
        accountId,
        jobType: type,
        project: project.name,
        spec: compact,
        priority: body.priority ?? 'normal',
        reliabilityMode: body.reliability_mode ?? 'best_effort',
        tags: body.tags ?? [],
        dependsOn: body.depends_on ?? [],
        timeoutS: body.timeout_s ?? DEFAULT_TIMEOUT_S,
        clientRef: body.client_ref ?? null,
        callbackUrl: body.callback_url ?? null,
        billing: null,
      },
      `submit:${jobId}`,
    ),
  ]);
  return { jobId };
}

/**
 * Every `depends_on` id must name one of the caller's jobs: a dependency that
 * never answers would leave the job waiting until its queue timeout. Another
 * account's job reads exactly like a missing one.
 */
async function checkDependencies(deps: SubmitDeps, accountId: string, dependsOn: readonly string[]): Promise<void> {
  if (dependsOn.length === 0) return;
  const ids = [...new Set(dependsOn)];
  const models = (await deps.node.readModels(ids.map(jobRef))) as (JsonObject | null)[];
  const missing = ids.filter((_, i) => models[i]?.account_id !== accountId);
  if (missing.length > 0) {
    throw new ComputalotError('dependency_not_found', 422, `depends_on names jobs that do not exist: ${missing.join(', ')}`, {
      details: { field: 'depends_on', missing },
    });
  }
}

function unsupported(what: string): ComputalotError {
  return new ComputalotError('unsupported_feature', 422, `${what} is not available on this server yet`);
}
