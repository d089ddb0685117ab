import type { JsonObject } from '../shared/json.js';
import { BoundedCache } from '../shared/bounded-cache.js';
import type { Store } from '../store/store.js';

/**
 * The bulky, never-changing part of a job's submission, kept apart from the
 * job actor.
 *
 * A job's snapshot and read model are rewritten on every commit of the job —
 * thousands for a 10,000-task fan-out, whose `fan_out.items` alone can be
 * hundreds of KB — so carrying the submission there made a job's cost grow
 * with the square of its size. Instead the gateway stores the fields that
 * hold task inputs (`BULKY_FIELDS`) once, under the job id, before the job is
 * submitted; the job carries only the compact rest (runner command,
 * requirements, result schema, merge and rank settings, meta…). The planner
 * reads the whole submission back; public job views merge the bulky part in,
 * so clients see the submission as sent.
 *
 * Immutable once written, so readers cache it.
 */
export const BULKY_FIELDS = ['payload', 'fan_out', 'parameters', 'fixed_payload', 'candidates', 'shared_payload', 'split'] as const;

/** Parts kept in memory per process. */
const CACHE_SIZE = 2_000;

const instances = new WeakMap<Store, JobSpecStore>();

export class JobSpecStore {
  private readonly cache = new BoundedCache<JsonObject>(CACHE_SIZE);

  private constructor(private readonly store: Store) {}

  /** One instance (and cache) per store in this process. */
  static for(store: Store): JobSpecStore {
    let specs = instances.get(store);
    if (specs === undefined) instances.set(store, (specs = new JobSpecStore(store)));
    return specs;
  }

  static key(jobId: string): string {
    return `job-spec:${jobId}`;
  }

  /** Splits a submission into what the job actor carries and what is stored apart. */
  static split(spec: JsonObject): { compact: JsonObject; bulky: JsonObject } {
    const compact: JsonObject = {};
    const bulky: JsonObject = {};
    for (const [field, value] of Object.entries(spec)) {
      if ((BULKY_FIELDS as readonly string[]).includes(field)) bulky[field] = value;
      else compact[field] = value;
    }
    return { compact, bulky };
  }

  async save(jobId: string, bulky: JsonObject): Promise<void> {
    if (Object.keys(bulky).length === 0) return;
    await this.store.kvSet(JobSpecStore.key(jobId), bulky);
    this.cache.set(jobId, bulky);
  }

  /** The bulky part, or null when the job has none (or was submitted before parts were split). */
  load(jobId: string): Promise<JsonObject | null> {
    return this.cache.getOrLoad(jobId, async () => {
      const entry = await this.store.kvGet(JobSpecStore.key(jobId));
      return entry !== null && typeof entry.value === 'object' && entry.value !== null && !Array.isArray(entry.value) ? entry.value : null;
    });
  }

  /** `view` with the job's bulky fields merged back in. */
  async complete(jobId: string, view: JsonObject): Promise<JsonObject> {
    const bulky = await this.load(jobId);
    return bulky === null ? view : { ...bulky, ...view };
  }

  async delete(jobId: string): Promise<void> {
    this.cache.delete(jobId);
    await this.store.kvDelete(JobSpecStore.key(jobId));
  }
}
