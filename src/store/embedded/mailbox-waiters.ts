import type { MailboxDelivery } from '../store.js';

interface BlockedRead {
  readonly shards: ReadonlySet<number>;
  /** Takes what is there now for this reader; empty when another reader got it first. */
  readonly tryRead: () => MailboxDelivery[];
  readonly resolve: (deliveries: MailboxDelivery[]) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * `readMailbox` callers blocked on empty mailboxes. An append wakes the
 * readers of its shards in the same tick — no polling — and each tries to
 * take messages in turn, so two readers never receive the same entry; a
 * reader that finds nothing left keeps waiting until its `blockMs` runs out.
 */
export class MailboxWaiters {
  private readonly blocked = new Set<BlockedRead>();

  wait(shards: readonly number[], blockMs: number, tryRead: () => MailboxDelivery[]): Promise<MailboxDelivery[]> {
    return new Promise((resolve) => {
      const read: BlockedRead = {
        shards: new Set(shards),
        tryRead,
        resolve,
        timer: setTimeout(() => {
          this.blocked.delete(read);
          resolve([]);
        }, blockMs),
      };
      this.blocked.add(read);
    });
  }

  /** Called after messages were appended to `shards`. */
  notify(shards: Iterable<number>): void {
    if (this.blocked.size === 0) return;
    const touched = new Set(shards);
    for (const read of [...this.blocked]) {
      if (![...touched].some((shard) => read.shards.has(shard))) continue;
      const deliveries = read.tryRead();
      if (deliveries.length === 0) continue;
      clearTimeout(read.timer);
      this.blocked.delete(read);
      read.resolve(deliveries);
    }
  }

  /** On close: every blocked reader returns empty-handed. */
  releaseAll(): void {
    for (const read of this.blocked) {
      clearTimeout(read.timer);
      read.resolve([]);
    }
    this.blocked.clear();
  }
}
