import type { JsonObject } from '../shared/json.js';
import type { Store } from '../store/store.js';

/**
 * Per-account job lists, newest first: what `GET /api/v1/jobs`, `GET
 * /api/v1/results`, project cancel-queued and the project stream page through.
 *
 * Each list is a store queue (a sorted set; one key, so it works on Redis
 * Cluster) scored by `-createdAt`. A job is listed under its account, under
 * `(account, project)` and under `(account, tag)` for each tag, so the three
 * common filters read a list that holds only matching jobs.
 *
 * The gateway records a job **before** its `job.submit` event is sent: a crash
 * in between leaves an entry whose job never existed, which readers skip
 * (and `remove` clears), never a job that no list shows.
 */
export interface IndexedJob {
  readonly accountId: string;
  readonly jobId: string;
  readonly project: string | null;
  readonly tags: readonly string[];
  readonly createdAt: number;
}

/** Which list to read; the narrowest one the filter allows. */
export interface JobListScope {
  readonly project?: string;
  readonly tag?: string;
}

/** A job's public view as readers see it (null: gone, or never created). */
export type ReadJobs = (jobIds: readonly string[]) => Promise<(JsonObject | null)[]>;

export interface JobPage {
  readonly jobs: JsonObject[];
  /** True when at least one more job matches after this page. */
  readonly hasMore: boolean;
  /** True when the scan stopped at `MAX_SCANNED` before the page filled. */
  readonly truncated: boolean;
}

/** Jobs read per store round trip while filtering. */
const SCAN_BATCH = 200;
/** A filtered listing looks at no more than this many jobs per request. */
export const MAX_SCANNED = 20_000;

export class JobIndex {
  constructor(private readonly store: Store) {}

  static listName(accountId: string, scope: JobListScope = {}): string {
    if (scope.tag !== undefined) return `jobs:${accountId}:tag:${scope.tag}`;
    if (scope.project !== undefined) return `jobs:${accountId}:project:${scope.project}`;
    return `jobs:${accountId}`;
  }

  private static listsOf(job: Omit<IndexedJob, 'createdAt'>): string[] {
    const lists = [JobIndex.listName(job.accountId)];
    if (job.project !== null) lists.push(JobIndex.listName(job.accountId, { project: job.project }));
    for (const tag of new Set(job.tags)) lists.push(JobIndex.listName(job.accountId, { tag }));
    return lists;
  }

  async record(job: IndexedJob): Promise<void> {
    await Promise.all(JobIndex.listsOf(job).map((list) => this.store.queuePush(list, [{ member: job.jobId, score: -job.createdAt }])));
  }

  async remove(job: Omit<IndexedJob, 'createdAt'>): Promise<void> {
    await Promise.all(JobIndex.listsOf(job).map((list) => this.store.queueRemove(list, [job.jobId])));
  }

  /** Jobs in the account's list, newest first. */
  async count(accountId: string, scope: JobListScope = {}): Promise<number> {
    return this.store.queueSize(JobIndex.listName(accountId, scope));
  }

  /**
   * The `offset … offset+limit-1`-th jobs, newest first, among those of
   * `scope` that `matches` accepts. Entries whose job no longer exists are
   * skipped. Filtering reads the list in batches and stops at `MAX_SCANNED`.
   */
  async page(
    accountId: string,
    scope: JobListScope,
    options: { offset: number; limit: number; matches?: (job: JsonObject) => boolean },
    readJobs: ReadJobs,
  ): Promise<JobPage> {
    const list = JobIndex.listName(accountId, scope);
    if (options.matches === undefined) return this.unfilteredPage(list, options.offset, options.limit, readJobs);
    const matches = options.matches;
    const wanted = options.offset + options.limit + 1;
    const found: JsonObject[] = [];
    let position = 0;
    let exhausted = false;
    while (found.length < wanted && position < MAX_SCANNED) {
      const items = await this.store.queuePeek(list, SCAN_BATCH, position);
      position += items.length;
      if (items.length < SCAN_BATCH) exhausted = true;
      const jobs = await readJobs(items.map((item) => item.member));
      for (const job of jobs) if (job !== null && matches(job)) found.push(job);
      if (exhausted) break;
    }
    return {
      jobs: found.slice(options.offset, options.offset + options.limit),
      hasMore: found.length > options.offset + options.limit,
      truncated: !exhausted && found.length < wanted,
    };
  }

  /** No filter: read exactly the page (plus one to tell whether more follow). */
  private async unfilteredPage(list: string, offset: number, limit: number, readJobs: ReadJobs): Promise<JobPage> {
    const items = await this.store.queuePeek(list, limit + 1, offset);
    const jobs = (await readJobs(items.slice(0, limit).map((item) => item.member))).filter((job): job is JsonObject => job !== null);
    return { jobs, hasMore: items.length > limit, truncated: false };
  }
}
