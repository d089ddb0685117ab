import { workerRef } from '../actors/shared/ids.js';
import type { ControllerNode } from '../actors/runtime/index.js';
import type { AssignedAttempt } from '../actors/worker/worker.events.js';

interface WorkerChanges {
  readonly assigned: AssignedAttempt[];
  readonly released: string[];
}

/**
 * Keeps the worker actors' books of what runs on their agents, from the
 * controller that holds each agent's stream: the attempts it sends and the
 * attempts the agent reports ended. Changes gathered over `flushIntervalMs`
 * go to each worker as one `worker.allocations_changed`: a busy agent starts
 * and ends thousands of attempts a second, and one event and one worker
 * commit per interval replace two messages, two worker steps and two commits
 * of the worker's whole allocation list per task. One batch is in flight at a
 * time, so a worker's commits never race each other.
 *
 * Dispatches do not wait for their assignment to be committed. An assignment
 * lost with this process matters only if the agent dies too: an agent that
 * lives on reports the attempt's result on its next stream (it resends results
 * until acknowledged), and a task whose agent and controller both died is
 * caught by its attempt timer.
 */
export class WorkerAllocationBatches {
  private pending = new Map<string, WorkerChanges>();
  /** Armed or running: a flush will pick up whatever is pending. */
  private flushing = false;

  constructor(
    private readonly node: Pick<ControllerNode, 'message' | 'applyNow'>,
    private readonly onError: (error: unknown, workers: string[]) => void,
    private readonly flushIntervalMs = 100,
  ) {}

  assign(workerId: string, attempt: AssignedAttempt): void {
    this.changesOf(workerId).assigned.push(attempt);
  }

  release(workerId: string, attemptId: string): void {
    this.changesOf(workerId).released.push(attemptId);
  }

  private changesOf(workerId: string): WorkerChanges {
    let changes = this.pending.get(workerId);
    if (changes === undefined) this.pending.set(workerId, (changes = { assigned: [], released: [] }));
    this.arm();
    return changes;
  }

  private arm(): void {
    if (this.flushing) return;
    this.flushing = true;
    setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const messages = [...batch].map(([workerId, changes]) =>
      this.node.message(workerRef(workerId), { type: 'worker.allocations_changed', assigned: changes.assigned, released: changes.released }),
    );
    try {
      await this.node.applyNow(messages);
    } catch (error) {
      // Neither committed nor queued (the store is down): the heartbeat's list of running attempts settles the releases.
      this.onError(error, [...batch.keys()]);
    }
    this.flushing = false;
    if (this.pending.size > 0) this.arm();
  }
}
