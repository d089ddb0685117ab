/**
 * Finished attempts whose TaskFinished the controller has not acknowledged yet.
 * Attempts outlive streams: a result that finishes while the agent is
 * disconnected, or whose ack was lost with the stream, waits here and is sent
 * again on every new stream until a TaskFinishedAck arrives.
 */
import type { TaskFinished } from '../gen/computalot/agent/v1/agent.js';
import type { Logger } from '../shared/logger.js';

/** Default bound: results held while no controller answers; the oldest is dropped past it. */
export const DEFAULT_OUTBOX_LIMIT = 1000;

/** Unacknowledged results, oldest first. */
export class FinishedOutbox {
  private readonly entries = new Map<string, TaskFinished>();
  private readonly limit: number;
  private readonly logger: Logger;

  constructor(logger: Logger, limit = DEFAULT_OUTBOX_LIMIT) {
    this.logger = logger;
    this.limit = limit;
  }

  get size(): number {
    return this.entries.size;
  }

  has(attemptId: string): boolean {
    return this.entries.has(attemptId);
  }

  add(finished: TaskFinished): void {
    this.entries.set(finished.attemptId, finished);
    if (this.entries.size <= this.limit) return;
    // Bounded so a controller that never acks cannot exhaust memory; the controller's
    // attempt timeout recovers a dropped result by retrying the task.
    const oldest = this.entries.keys().next().value;
    if (oldest !== undefined) {
      this.entries.delete(oldest);
      this.logger.warn({ attemptId: oldest, limit: this.limit }, 'outbox full; dropped the oldest unacknowledged result');
    }
  }

  /** The controller has the result. */
  acknowledge(attemptId: string): boolean {
    return this.entries.delete(attemptId);
  }

  pending(): TaskFinished[] {
    return [...this.entries.values()];
  }
}
