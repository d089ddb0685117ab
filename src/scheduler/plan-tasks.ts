import type { JsonObject, JsonValue } from '../shared/json.js';

export type PlanOutcome = { readonly ok: true; readonly payloads: JsonValue[] } | { readonly ok: false; readonly error: string };

/**
 * Expands a validated job spec into its tasks' payloads, in task-index order.
 * The gateway validates every submission before it becomes a job, so a spec
 * reaching here has a shape the gateway accepted; anything else is reported
 * as a planning failure on the job rather than thrown.
 */
export function planTasks(jobType: string, spec: JsonObject): PlanOutcome {
  switch (jobType) {
    case 'structured_runner':
      if (spec.fan_out !== undefined && spec.fan_out !== null) return { ok: false, error: 'fan_out jobs are planned by the fan-out planner, which this server does not run' };
      return { ok: true, payloads: [spec.payload ?? {}] };
    default:
      return { ok: false, error: `job type "${jobType}" cannot be planned by this server` };
  }
}
