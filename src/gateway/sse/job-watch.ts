/**
 * What one process knows about one watched job: the last job view, task
 * views and event-log position it has seen, and who listens. Read models
 * change through actor commits, possibly on another controller, so the
 * {@link JobWatchHub} feeds each watch a fresh job view every poll and the
 * watch turns differences into changes (compared as JSON text, events by seq).
 */
import { ComputalotError } from '../../shared/errors.js';
import type { JsonObject } from '../../shared/json.js';
import type { EventLogRecord } from '../../store/store.js';
import { taskTotal, type JobReader } from '../jobs/job-reader.js';
import { isTerminalJob } from '../jobs/result-view.js';
import { eventFrame, jobFrame, taskFrame } from './frames.js';
import { MAX_STREAM_TASKS, planTaskReads, unfinishedTasks } from './task-poll-plan.js';

/** What a subscriber wants beyond `job` changes. */
export interface WatchNeeds {
  readonly tasks: boolean;
  readonly events: boolean;
}

/** One change, already shaped as the frame that carries it (see frames.ts). */
export type JobWatchChange =
  | { readonly kind: 'job'; readonly frame: JsonObject }
  | { readonly kind: 'task'; readonly frame: JsonObject }
  | { readonly kind: 'event'; readonly frame: JsonObject }
  /** Nothing more will change: the job is terminal, or its record is gone. */
  | { readonly kind: 'end'; readonly reason: 'terminal' | 'gone' };

/** The state a subscriber starts from; changes after it arrive through its listener. */
export interface JobWatchSnapshot {
  /** A `job` frame; terminal jobs carry the result surface. */
  readonly job: JsonObject;
  /** Task frames of the first 1000 tasks, by index; empty unless `tasks` was asked for. */
  readonly tasks: readonly JsonObject[];
  readonly taskTotal: number;
  /** The last {@link EVENT_BACKLOG} event frames; empty unless `events` was asked for. */
  readonly events: readonly JsonObject[];
  readonly ended: boolean;
}

export type JobWatchListener = (change: JobWatchChange) => void;

/** The reads a watch needs; `JobReader` provides them (tests pass a fake). */
export type JobWatchReader = Pick<JobReader, 'jobsByIds' | 'tasksAt' | 'eventsAfter'>;

/** Event frames a new subscriber receives from before it joined. */
export const EVENT_BACKLOG = 200;
/** Event-log lines read per store call. */
const EVENT_BATCH = 500;
/** Task views read per store call. */
const TASK_BATCH = 250;

interface Subscriber {
  readonly needs: WatchNeeds;
  readonly listener: JobWatchListener;
}

interface Waiter extends Subscriber {
  readonly resolve: (snapshot: JobWatchSnapshot) => void;
  readonly reject: (error: unknown) => void;
}

export class JobWatch {
  private job: JsonObject | null = null;
  private jobJson = '';
  private readonly tasks = new Map<number, JsonObject>();
  private readonly taskJson = new Map<number, string>();
  /** False until every followed task was read once while tasks are tracked. */
  private tasksFresh = false;
  private taskCursor = 0;
  private lastSeq = 0;
  private recentEvents: JsonObject[] = [];
  private ended: 'terminal' | 'gone' | null = null;
  private frame: JsonObject = {};
  private frameOf = '';
  /** A terminal job's tasks past the followed ones, read once so its frame aggregates every task. */
  private unfollowedTasks: JsonObject[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly reader: JobWatchReader,
    readonly accountId: string,
    readonly jobId: string,
  ) {}

  /** Whether the hub must still read this job each poll. */
  get needsPolling(): boolean {
    return this.ended === null || this.waiters.size > 0;
  }

  get idle(): boolean {
    return this.subscribers.size === 0 && this.waiters.size === 0;
  }

  /**
   * Resolves with a snapshot after the next poll, from which point `listener`
   * receives every change. Rejects with 404 `job_not_found` when the job does
   * not exist for the account.
   */
  join(needs: WatchNeeds, listener: JobWatchListener): { snapshot: Promise<JobWatchSnapshot>; leave: () => void } {
    let subscriber: Subscriber | undefined;
    const snapshot = new Promise<JobWatchSnapshot>((resolve, reject) => {
      const waiter: Waiter = { needs, listener, resolve, reject };
      subscriber = waiter;
      this.waiters.add(waiter);
    });
    // A waiter that leaves is dropped without settling: its caller stopped waiting for it.
    const leave = () => {
      if (subscriber === undefined) return;
      this.subscribers.delete(subscriber);
      this.waiters.delete(subscriber as Waiter);
    };
    return { snapshot, leave };
  }

  /** One poll: `view` is the job's public view just read (null: missing or another account's). */
  async advance(view: JsonObject | null): Promise<void> {
    if (this.ended !== null) {
      // A late subscriber of an ended job may want the event backlog nobody read so far.
      if ([...this.waiters].some((w) => w.needs.events)) await this.readEvents([]);
      return this.admitWaiters();
    }
    if (view === null) {
      if (this.job === null) return this.rejectWaiters(new ComputalotError('job_not_found', 404, `job ${this.jobId} not found`));
      return this.finish([], 'gone');
    }
    const needs = this.needs();
    const terminal = isTerminalJob(view);
    const changes: JobWatchChange[] = [];
    // Tasks are read even when nobody asked once the job ends: its terminal frame aggregates them.
    if (needs.tasks || terminal) await this.readTasks(view, terminal, changes);
    else this.tasksFresh = false;
    if (terminal) await this.readUnfollowedTasks(view);
    if (needs.events) await this.readEvents(changes);

    const json = JSON.stringify(view);
    if (json !== this.jobJson) {
      this.job = view;
      this.jobJson = json;
      changes.push({ kind: 'job', frame: this.jobFrame() });
    }
    if (terminal) return this.finish(changes, 'terminal');
    this.deliver(changes);
    this.admitWaiters();
  }

  private needs(): WatchNeeds {
    let tasks = false;
    let events = false;
    for (const s of [...this.subscribers, ...this.waiters]) {
      tasks ||= s.needs.tasks;
      events ||= s.needs.events;
    }
    return { tasks, events };
  }

  private async readTasks(view: JsonObject, terminal: boolean, changes: JobWatchChange[]): Promise<void> {
    const total = taskTotal(view);
    let indices: number[];
    if (!this.tasksFresh || terminal) {
      indices = unfinishedTasks(total, this.tasks);
    } else {
      const plan = planTaskReads(total, this.tasks, this.taskCursor);
      indices = plan.indices;
      this.taskCursor = plan.cursor;
    }
    for (let start = 0; start < indices.length; start += TASK_BATCH) {
      const batch = indices.slice(start, start + TASK_BATCH);
      const views = await this.reader.tasksAt(view, batch);
      batch.forEach((index, i) => {
        const task = views[i];
        if (task === null || task === undefined) return;
        const json = JSON.stringify(task);
        if (json === this.taskJson.get(index)) return;
        this.tasks.set(index, task);
        this.taskJson.set(index, json);
        changes.push({ kind: 'task', frame: taskFrame(task) });
      });
    }
    this.tasksFresh = true;
  }

  /** Tasks beyond the first {@link MAX_STREAM_TASKS} emit no frames, but the terminal aggregate needs them. */
  private async readUnfollowedTasks(view: JsonObject): Promise<void> {
    const total = taskTotal(view);
    this.unfollowedTasks = [];
    for (let start = MAX_STREAM_TASKS; start < total; start += TASK_BATCH) {
      const indices = Array.from({ length: Math.min(TASK_BATCH, total - start) }, (_, i) => start + i);
      for (const task of await this.reader.tasksAt(view, indices)) if (task) this.unfollowedTasks.push(task);
    }
  }

  private async readEvents(changes: JobWatchChange[]): Promise<void> {
    for (;;) {
      const records: EventLogRecord[] = await this.reader.eventsAfter(this.jobId, this.lastSeq, EVENT_BATCH);
      for (const record of records) {
        const frame = eventFrame(this.jobId, record);
        this.lastSeq = Math.max(this.lastSeq, record.seq);
        this.recentEvents.push(frame);
        changes.push({ kind: 'event', frame });
      }
      if (this.recentEvents.length > EVENT_BACKLOG) this.recentEvents = this.recentEvents.slice(-EVENT_BACKLOG);
      if (records.length < EVENT_BATCH) return;
    }
  }

  private taskList(): JsonObject[] {
    return [...this.tasks.entries()]
      .filter(([index]) => index < MAX_STREAM_TASKS)
      .sort(([a], [b]) => a - b)
      .map(([, task]) => task);
  }

  /** The `job` frame of the current view; cached, since a terminal one aggregates every task. */
  private jobFrame(): JsonObject {
    if (this.job === null) return {};
    if (this.frameOf !== this.jobJson) {
      this.frame = jobFrame(this.job, isTerminalJob(this.job) ? [...this.taskList(), ...this.unfollowedTasks] : null);
      this.frameOf = this.jobJson;
    }
    return this.frame;
  }

  private finish(changes: JobWatchChange[], reason: 'terminal' | 'gone'): void {
    this.ended = reason;
    changes.push({ kind: 'end', reason });
    this.deliver(changes);
    this.admitWaiters();
  }

  private deliver(changes: readonly JobWatchChange[]): void {
    if (changes.length === 0) return;
    for (const subscriber of this.subscribers) {
      for (const change of changes) {
        if (change.kind === 'task' && !subscriber.needs.tasks) continue;
        if (change.kind === 'event' && !subscriber.needs.events) continue;
        subscriber.listener(change);
      }
    }
  }

  /** Hands waiting subscribers the current state; from here on they receive changes. */
  private admitWaiters(): void {
    if (this.job === null) return;
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      this.subscribers.add(waiter);
      waiter.resolve({
        job: this.jobFrame(),
        tasks: waiter.needs.tasks ? this.taskList().map(taskFrame) : [],
        taskTotal: taskTotal(this.job),
        events: waiter.needs.events ? [...this.recentEvents] : [],
        ended: this.ended !== null,
      });
    }
  }

  /** Fails every subscriber still waiting for its snapshot (job missing, or shutdown). */
  rejectWaiters(error: unknown): void {
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      waiter.reject(error);
    }
  }
}
