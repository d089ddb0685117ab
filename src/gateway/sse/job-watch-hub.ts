/**
 * One poller per gateway for every watched job: however many streams follow
 * a job, the process reads it once per poll, and the job views of all
 * watched jobs are read in one batched store call per account. Polling stops
 * when nothing is watched.
 */
import type { FastifyBaseLogger } from 'fastify';
import { UnavailableError } from '../../shared/errors.js';
import { JobWatch, type JobWatchListener, type JobWatchReader, type JobWatchSnapshot, type WatchNeeds } from './job-watch.js';

/** Default pause between polls of the watched jobs. */
export const DEFAULT_POLL_INTERVAL_MS = 250;

export interface JobWatchSubscription {
  readonly snapshot: JobWatchSnapshot;
  /** Stops the listener; the job is no longer polled once nobody follows it. */
  readonly unsubscribe: () => void;
}

function shuttingDown(): UnavailableError {
  return new UnavailableError('the server is shutting down; reconnect');
}

export class JobWatchHub {
  private readonly watches = new Map<string, JobWatch>();
  private looping = false;
  private stopped = false;
  private wakeRequested = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly reader: JobWatchReader,
    private readonly logger: FastifyBaseLogger,
    private readonly pollIntervalMs: number = DEFAULT_POLL_INTERVAL_MS,
  ) {}

  /** Jobs currently watched (for tests and metrics). */
  get watchedJobs(): number {
    return this.watches.size;
  }

  /**
   * Follows `jobId` for `accountId`. Resolves after the next poll with the
   * job's state; `listener` receives every later change. Rejects with 404
   * `job_not_found` for a missing job or another account's.
   */
  async subscribe(accountId: string, jobId: string, needs: WatchNeeds, listener: JobWatchListener): Promise<JobWatchSubscription> {
    if (this.stopped) throw shuttingDown();
    const key = `${accountId}\u0000${jobId}`;
    let watch = this.watches.get(key);
    if (watch === undefined) {
      watch = new JobWatch(this.reader, accountId, jobId);
      this.watches.set(key, watch);
    }
    const joined = watch.join(needs, listener);
    const owner = watch;
    const unsubscribe = () => {
      joined.leave();
      if (owner.idle && this.watches.get(key) === owner) this.watches.delete(key);
    };
    this.pollSoon();
    try {
      return { snapshot: await joined.snapshot, unsubscribe };
    } catch (error) {
      unsubscribe();
      throw error;
    }
  }

  /** Stops polling for good (gateway shutdown); subscribers still waiting for a snapshot get 503. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
    for (const watch of this.watches.values()) watch.rejectWaiters(shuttingDown());
  }

  /** A new subscriber should not wait a full interval for its snapshot. */
  private pollSoon(): void {
    this.wakeRequested = true;
    this.wake?.();
    if (!this.looping && !this.stopped) {
      this.looping = true;
      void this.loop();
    }
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.watches.size > 0) {
        this.wakeRequested = false;
        await this.poll();
        await this.pause();
      }
    } finally {
      this.looping = false;
    }
  }

  private async poll(): Promise<void> {
    const due = [...this.watches.values()].filter((watch) => watch.needsPolling);
    const byAccount = new Map<string, JobWatch[]>();
    for (const watch of due) byAccount.set(watch.accountId, [...(byAccount.get(watch.accountId) ?? []), watch]);
    await Promise.all(
      [...byAccount.entries()].map(async ([accountId, watches]) => {
        try {
          const views = await this.reader.jobsByIds(accountId, watches.map((watch) => watch.jobId));
          await Promise.all(watches.map((watch, i) => watch.advance(views[i] ?? null).catch((error: unknown) => this.pollFailed(watch, error))));
        } catch (error) {
          // A store hiccup costs one poll; the next one reads again.
          this.logger.warn({ err: error, accountId }, 'job stream poll failed');
        }
      }),
    );
    for (const [key, watch] of this.watches) if (watch.idle) this.watches.delete(key);
  }

  private pollFailed(watch: JobWatch, error: unknown): void {
    this.logger.warn({ err: error, jobId: watch.jobId }, 'job stream poll failed');
  }

  private pause(): Promise<void> {
    if (this.wakeRequested || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, this.pollIntervalMs);
      this.wake = finish;
    });
  }
}
