import { jobRef } from '../actors/shared/ids.js';
import type { ControllerNode } from '../actors/runtime/index.js';
import { effectiveSchema, type ResultSchema } from '../jobs/aggregate/index.js';
import { BoundedCache } from '../shared/bounded-cache.js';
import { stringOf, type JsonObject } from '../shared/json.js';
import { readJobDispatchInfo, type JobDispatchInfo } from './dispatch.js';

/** Jobs whose facts are kept in memory. */
const CACHE_SIZE = 1_000;

/**
 * What the scheduler needs of a job on every dispatch and every result: its
 * dispatch fields (runner command, project, `meta.env`) and its result schema.
 * Neither changes after submit, and a fan-out's thousands of tasks would
 * otherwise read and parse the same job view thousands of times.
 */
export class JobFacts {
  private readonly schemas = new BoundedCache<ResultSchema>(CACHE_SIZE);
  private readonly dispatchInfos = new BoundedCache<JobDispatchInfo>(CACHE_SIZE);

  constructor(private readonly node: ControllerNode) {}

  resultSchema(jobId: string): Promise<ResultSchema | null> {
    return this.schemas.getOrLoad(jobId, async () => {
      const [job] = (await this.node.readModels([jobRef(jobId)])) as (JsonObject | null)[];
      return job ? effectiveSchema(stringOf(job.type, 'structured_runner'), job) : null;
    });
  }

  dispatchInfo(jobId: string): Promise<JobDispatchInfo | null> {
    return this.dispatchInfos.getOrLoad(jobId, () => readJobDispatchInfo(this.node, jobId));
  }
}
