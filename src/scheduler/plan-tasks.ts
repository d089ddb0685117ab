import type { JsonObject } from '../shared/json.js';
import { planJob } from './planning/validate-plan.js';
import type { PlanOutcome } from './planning/types.js';

export type { PlanError, PlanOutcome, TaskMeta, TaskRange } from './planning/types.js';
export { formatPlanErrors } from './planning/types.js';
export { validateJobPlan, JOB_TYPES, type JobType } from './planning/validate-plan.js';

/**
 * Expands a job spec into its tasks' payloads, in task-index order, for every
 * job type: structured_runner (with or without `fan_out`), sweep, map_reduce
 * and benchmark (see `./planning/`). `tasks[i]` carries task i's metadata for
 * the aggregators. The gateway validates every submission with
 * `validateJobPlan` first (same checks), so a spec reaching here normally
 * plans; anything else is reported as a planning failure on the job
 * (`error`, one line; `errors`, the structured list) rather than thrown.
 */
export function planTasks(jobType: string, spec: JsonObject): PlanOutcome {
  return planJob(jobType, spec);
}
