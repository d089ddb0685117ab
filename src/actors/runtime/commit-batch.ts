import type { CommitRequest, EntityRef, EntityWrite, MailboxMessage, OutboxItem, SingleOutboxItem, TimerSpec } from '../../store/store.js';
import type { EntityChange, LiveEntityState, LoadedEntity } from './apply-events.js';

/** An entity's key within one shard. */
export const refKey = (ref: EntityRef): string => `${ref.kind}\u0000${ref.id}`;

/** One entity's changes so far in a batch: its latest write and timers, merged across rounds. */
interface EntityTally {
  readonly loadedVersion: number;
  write: EntityWrite;
  live: LiveEntityState | undefined;
  scheduleTimers: TimerSpec[];
  cancelTimers: string[];
}

/**
 * The changes of one shard commit, gathered entity by entity. A batch is
 * applied in rounds: messages one round's steps send to entities of the same
 * shard are the next round's input instead of mailbox entries (see
 * `ShardProcessor`), so an entity may change more than once. The tally keeps
 * one write per entity — its last state, expecting the version it was loaded
 * at, with every round's log lines — and merges its timers in order, so a
 * timer scheduled in one round and cancelled in the next is simply gone.
 */
export class CommitBatch {
  private readonly entities = new Map<string, EntityTally>();
  private readonly appliedEventIds: string[] = [];
  private readonly outbox: SingleOutboxItem[] = [];
  private local: MailboxMessage[] = [];

  constructor(private readonly shard: number) {}

  /** The entity as this batch left it so far, or undefined when no round changed it. */
  current(ref: EntityRef): LoadedEntity | undefined {
    const tally = this.entities.get(refKey(ref));
    if (!tally) return undefined;
    return { ref, version: tally.loadedVersion, snapshot: tally.write.snapshot, ...(tally.live ? { live: tally.live } : {}) };
  }

  /**
   * Adds one entity's change. `recordApplied`: false for messages that never
   * sat in a mailbox (an earlier round's local sends), which can never be
   * delivered again and so need no applied id.
   */
  add(change: EntityChange, recordApplied: boolean): void {
    if (recordApplied) this.appliedEventIds.push(...change.appliedEventIds);
    for (const item of change.outbox) {
      if (item.kind === 'message' && item.message.shard === this.shard) this.local.push(item.message);
      else this.outbox.push(item);
    }
    if (!change.write) return;
    const key = refKey(change.write.ref);
    const tally = this.entities.get(key);
    if (!tally) {
      this.entities.set(key, {
        loadedVersion: change.write.expectedVersion,
        write: change.write,
        live: change.live,
        scheduleTimers: [...change.scheduleTimers],
        cancelTimers: [...change.cancelTimers],
      });
      return;
    }
    const earlierLog = tally.write.log ?? [];
    const laterLog = change.write.log ?? [];
    const log = [...earlierLog, ...laterLog];
    tally.write = {
      ...change.write,
      ...(change.write.readModel === undefined && tally.write.readModel !== undefined ? { readModel: tally.write.readModel } : {}),
      ...(log.length > 0 ? { log } : {}),
    };
    tally.live = change.live;
    for (const timerId of change.cancelTimers) {
      tally.scheduleTimers = tally.scheduleTimers.filter((timer) => timer.timerId !== timerId);
      if (!tally.cancelTimers.includes(timerId)) tally.cancelTimers.push(timerId);
    }
    for (const timer of change.scheduleTimers) {
      tally.cancelTimers = tally.cancelTimers.filter((timerId) => timerId !== timer.timerId);
      tally.scheduleTimers = tally.scheduleTimers.filter((scheduled) => scheduled.timerId !== timer.timerId);
      tally.scheduleTimers.push(timer);
    }
  }

  /** The messages the last round sent to this shard's own entities; the next round's input. */
  takeLocalMessages(): MailboxMessage[] {
    const taken = this.local;
    this.local = [];
    return taken;
  }

  /** Events applied that came from a mailbox or a caller (not counting local sends). */
  get appliedCount(): number {
    return this.appliedEventIds.length;
  }

  /**
   * The commit, the outbox records it declares (in order) and each write's
   * live state. Local messages not taken (the round limit was reached) are
   * appended to the shard's mailbox with the commit.
   */
  request(fence: number, ack: readonly string[]): { commit: CommitRequest; outbox: OutboxItem[]; live: (LiveEntityState | undefined)[] } {
    const tallies = [...this.entities.values()];
    // Everything the batch declared is one outbox record: one write now and one delete after delivery.
    const outbox: OutboxItem[] = this.outbox.length > 1 ? [{ kind: 'batch', items: this.outbox }] : [...this.outbox];
    const commit: CommitRequest = {
      shard: this.shard,
      fence,
      writes: tallies.map((tally) => tally.write),
      appliedEventIds: this.appliedEventIds,
      ack,
      outbox,
      send: this.local,
      scheduleTimers: tallies.flatMap((tally) => tally.scheduleTimers),
      cancelTimers: tallies.flatMap((tally) => tally.cancelTimers),
    };
    return { commit, outbox, live: tallies.map((tally) => tally.live) };
  }
}
