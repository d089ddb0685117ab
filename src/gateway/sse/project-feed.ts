/**
 * The jobs of one project of one account, for `GET /api/v1/projects/:name/stream`:
 * the newest jobs first, then every change of a followed job and every job
 * submitted to the project later. New jobs are found through the project's
 * job list (JobIndex): its length is checked each poll, and only when it
 * moved is the head of the list read, and only unknown ids are looked up.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { JobIndex } from '../../jobs/job-index.js';
import { stringOf, type JsonObject } from '../../shared/json.js';
import type { JobReader } from '../jobs/job-reader.js';
import { isTerminalJob } from '../jobs/result-view.js';
import { FrameGate } from './frame-gate.js';
import { jobFrame } from './frames.js';
import type { JobWatchHub } from './job-watch-hub.js';

/** Jobs in the first frame, newest first. */
export const PROJECT_SNAPSHOT_JOBS = 100;
/** Jobs one project stream follows at most; later ones are announced once but not followed. */
export const MAX_FOLLOWED_JOBS = 1_000;
/** How long a listed job whose record does not exist yet (submit in flight) is looked for again. */
const UNRESOLVED_RETRY_MS = 30_000;

export interface ProjectFeedDeps {
  readonly reader: JobReader;
  readonly index: JobIndex;
  readonly hub: JobWatchHub;
  readonly logger: FastifyBaseLogger;
  readonly pollIntervalMs: number;
}

export class ProjectFeed {
  /** Every job id this feed has shown. */
  private readonly known = new Set<string>();
  private readonly unsubscribers = new Map<string, () => void>();
  /** Listed ids without a job record yet, with when they were first seen. */
  private readonly unresolved = new Map<string, number>();
  private listLength = -1;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ProjectFeedDeps,
    private readonly accountId: string,
    private readonly project: string,
    /** Receives each `job` frame after the snapshot. */
    private readonly emit: (frame: JsonObject) => void,
  ) {}

  /** The snapshot's job frames, newest first; changes flow to `emit` from here on. */
  async start(): Promise<JsonObject[]> {
    this.listLength = await this.deps.index.count(this.accountId, { project: this.project });
    const page = await this.deps.index.page(this.accountId, { project: this.project }, { offset: 0, limit: PROJECT_SNAPSHOT_JOBS }, (ids) =>
      this.deps.reader.jobsByIds(this.accountId, ids),
    );
    for (const job of page.jobs) this.known.add(stringOf(job.id));
    // A terminal job no longer changes (its snapshot entry is the plain job view); live ones are followed.
    const followed = await Promise.all(page.jobs.map(async (job) => (isTerminalJob(job) ? null : this.follow(stringOf(job.id)))));
    const frames = page.jobs.map((job, i) => followed[i]?.frame ?? jobFrame(job, null));
    // Changes may flow now: the route holds them until the snapshot is out.
    for (const entry of followed) entry?.release();
    this.schedule();
    return frames;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const unsubscribe of this.unsubscribers.values()) unsubscribe();
    this.unsubscribers.clear();
  }

  /**
   * Follows a job through the shared hub. Returns its current frame (a
   * terminal one carries the result surface); its changes are held until
   * `release`, so they never overtake that frame. Null when the job cannot be
   * followed (the cap is reached, or it vanished).
   */
  private async follow(jobId: string): Promise<{ frame: JsonObject; release: () => void } | null> {
    if (this.unsubscribers.size >= MAX_FOLLOWED_JOBS) return null;
    const gate = new FrameGate<JsonObject>((frame) => this.emit(frame));
    try {
      const subscription = await this.deps.hub.subscribe(this.accountId, jobId, { tasks: false, events: false }, (change) => {
        if (change.kind === 'job') gate.push(change.frame);
        if (change.kind === 'end') this.unfollow(jobId);
      });
      if (this.stopped || subscription.snapshot.ended) subscription.unsubscribe();
      else this.unsubscribers.set(jobId, subscription.unsubscribe);
      return { frame: subscription.snapshot.job, release: () => gate.open() };
    } catch {
      // Gone between listing and following (retention): nothing to show.
      return null;
    }
  }

  private unfollow(jobId: string): void {
    this.unsubscribers.get(jobId)?.();
    this.unsubscribers.delete(jobId);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.findNewJobs().finally(() => this.schedule()), this.deps.pollIntervalMs);
  }

  private async findNewJobs(): Promise<void> {
    try {
      const length = await this.deps.index.count(this.accountId, { project: this.project });
      if (length === this.listLength && this.unresolved.size === 0) return;
      const now = Date.now();
      const missing: string[] = [];
      const page = await this.deps.index.page(this.accountId, { project: this.project }, { offset: 0, limit: PROJECT_SNAPSHOT_JOBS }, async (ids) => {
        // Known jobs are followed already: only ids never shown are read.
        const fresh = ids.filter((id) => !this.known.has(id));
        const views = await this.deps.reader.jobsByIds(this.accountId, fresh);
        const byId = new Map(fresh.map((id, i) => [id, views[i] ?? null]));
        for (const [id, view] of byId) if (view === null) missing.push(id);
        return ids.map((id) => byId.get(id) ?? null);
      });
      this.listLength = length;
      for (const id of missing) if (!this.unresolved.has(id)) this.unresolved.set(id, now);
      for (const [id, since] of this.unresolved) if (!missing.includes(id) || now - since > UNRESOLVED_RETRY_MS) this.unresolved.delete(id);
      // The page is newest first; announce the oldest new job first.
      for (const job of [...page.jobs].reverse()) {
        const id = stringOf(job.id);
        if (this.stopped || this.known.has(id)) continue;
        this.known.add(id);
        // Followed even when already terminal: the hub's frame then carries the result surface.
        const followed = await this.follow(id);
        this.emit(followed?.frame ?? jobFrame(job, null));
        followed?.release();
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, project: this.project }, 'project stream poll failed');
    }
  }
}
