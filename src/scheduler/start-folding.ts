/**
 * Holds agents' `started` reports for a moment so that a task finishing
 * within the hold costs its actor one step, not two: the scheduler folds the
 * start into the result (`task.succeeded` / `task.failed` with `startedAt`),
 * which records it exactly as `task.started` would have. Short tasks are the
 * many (a fan-out of thousands of small items), and for them the separate
 * start was a commit, a timer write and a message to the job each.
 *
 * A start still held when the hold ends is released as `task.started` with
 * the time the agent reported it, so a long task shows `running` at most
 * `holdMs` late. A start is released at once when progress arrives (only a
 * running task takes progress). Starts are not durable either way: a start
 * lost with the process leaves the task `dispatched` until its result or its
 * start deadline, as a lost `task.started` always did.
 */
export class StartFolding {
  /** attempt id → when its start was reported; insertion order is report order. */
  private readonly held = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly holdMs: number,
    private readonly release: (attemptId: string, startedAt: number) => void,
  ) {}

  hold(attemptId: string, startedAt: number): void {
    if (this.holdMs <= 0) return this.release(attemptId, startedAt);
    this.held.set(attemptId, startedAt);
    this.timer ??= setTimeout(() => this.releaseDue(), this.holdMs);
  }

  /** Takes an attempt's held start out, for its result to carry; undefined when none is held. */
  take(attemptId: string): number | undefined {
    const startedAt = this.held.get(attemptId);
    if (startedAt !== undefined) this.held.delete(attemptId);
    return startedAt;
  }

  /** Releases an attempt's held start now (before its progress). */
  releaseNow(attemptId: string): void {
    const startedAt = this.take(attemptId);
    if (startedAt !== undefined) this.release(attemptId, startedAt);
  }

  /** Releases every held start (the scheduler stops). */
  releaseAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const held = [...this.held];
    this.held.clear();
    for (const [attemptId, startedAt] of held) this.release(attemptId, startedAt);
  }

  private releaseDue(): void {
    this.timer = undefined;
    const dueBefore = Date.now() - this.holdMs;
    for (const [attemptId, startedAt] of this.held) {
      if (startedAt > dueBefore) {
        this.timer = setTimeout(() => this.releaseDue(), startedAt - dueBefore);
        return;
      }
      this.held.delete(attemptId);
      this.release(attemptId, startedAt);
    }
  }
}
