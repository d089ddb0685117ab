import type { MailboxMessage } from '../store/store.js';

interface Batch {
  readonly messages: MailboxMessage[];
  readonly applied: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit for agents' reports: one batch is applied at a time, and
 * everything that arrives while it is being applied forms the next one. A
 * busy agent reports hundreds of results a second; the busier it is, the
 * bigger each batch and the fewer commits per result, while an idle one still
 * gets each report applied on the next turn of the event loop.
 */
export class GroupCommit {
  private next: Batch | undefined;
  private applying = false;

  constructor(private readonly apply: (messages: readonly MailboxMessage[]) => Promise<void>) {}

  /** Resolves once `message` is applied or durably queued (what acknowledging a result waits for). */
  add(message: MailboxMessage): Promise<void> {
    this.next ??= newBatch();
    this.next.messages.push(message);
    if (!this.applying) {
      this.applying = true;
      setImmediate(() => void this.applyNext());
    }
    return this.next.applied;
  }

  private async applyNext(): Promise<void> {
    const batch = this.next;
    this.next = undefined;
    if (batch === undefined) {
      this.applying = false;
      return;
    }
    try {
      await this.apply(batch.messages);
      batch.resolve();
    } catch (error) {
      batch.reject(error);
    }
    setImmediate(() => void this.applyNext());
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const applied = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { messages: [], applied, resolve, reject };
}
