/**
 * The single validation entry for a job's planning fields. The gateway turns
 * a non-empty list into a 422 (each entry names the offending field, dotted
 * from the body root, e.g. `fan_out.by`, `split.ranges[2]`, `reduce.pnl`);
 * `planTasks` runs the same checks, so a spec that passes here always plans.
 */
import type { JsonObject } from '../../shared/json.js';
import { planBenchmark, validateBenchmark } from './benchmark.js';
import { planFanOut, validateStructuredRunner } from './fan-out.js';
import { planMapReduce, validateMapReduce } from './map-reduce.js';
import { planSweep, validateSweep } from './sweep.js';
import { failed, type PlanError, type PlanOutcome } from './types.js';

export const JOB_TYPES = ['structured_runner', 'sweep', 'map_reduce', 'benchmark'] as const;
export type JobType = (typeof JOB_TYPES)[number];

function isJobType(jobType: string): jobType is JobType {
  return (JOB_TYPES as readonly string[]).includes(jobType);
}

function unknownType(jobType: string): PlanError {
  return { field: 'type', message: `unknown job type ${JSON.stringify(jobType)}; expected one of ${JOB_TYPES.join(', ')}` };
}

export function validateJobPlan(jobType: string, spec: JsonObject): PlanError[] {
  if (!isJobType(jobType)) return [unknownType(jobType)];
  switch (jobType) {
    case 'structured_runner':
      return validateStructuredRunner(spec);
    case 'sweep':
      return validateSweep(spec);
    case 'map_reduce':
      return validateMapReduce(spec);
    case 'benchmark':
      return validateBenchmark(spec);
  }
}

export function planJob(jobType: string, spec: JsonObject): PlanOutcome {
  if (!isJobType(jobType)) return failed([unknownType(jobType)]);
  switch (jobType) {
    case 'structured_runner':
      return planFanOut(spec);
    case 'sweep':
      return planSweep(spec);
    case 'map_reduce':
      return planMapReduce(spec);
    case 'benchmark':
      return planBenchmark(spec);
  }
}
