/**
 * Collects the messages one side of the agent stream sends during an
 * event-loop turn and hands them over as one list when the turn's I/O is
 * done (`setImmediate`). A busy stream carries thousands of small messages a
 * second — a dispatch, a start, a result and its ack per task — and each
 * costs a gRPC frame, an HTTP/2 write and their callbacks on both sides; one
 * batch message per turn pays that once. Order is kept.
 */
export class TurnBatcher<T> {
  private pending: T[] = [];
  private scheduled = false;

  constructor(private readonly write: (messages: T[]) => void) {}

  add(message: T): void {
    this.pending.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is pending now (before a close that should still send it). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    this.write(messages);
  }

  /** Forgets what is pending (the stream is gone). */
  drop(): void {
    this.pending = [];
  }
}

/** One message as it is, several as the protocol's batch message. */
export function packBatch<T>(messages: T[], batch: (messages: T[]) => T): T {
  return messages.length === 1 ? (messages[0] as T) : batch(messages);
}
