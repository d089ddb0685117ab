import type { Logger } from 'pino';
import type { JsonValue } from '../../shared/json.js';
import { BoundedCache } from '../../shared/bounded-cache.js';
import type { EntityRef, MailboxMessage, OutboxItem, OutboxRecord, SingleOutboxItem, Store } from '../../store/store.js';

/** Effects of distinct entities in flight at once while a batch's outbox is drained. */
const EFFECT_CONCURRENCY = 64;
/** Effect ids remembered as done while their record waits for a sibling's retry. */
const COMPLETED_MEMORY = 100_000;
/** More than one sweep reads (1,000 records) across a controller's busiest shards. */
const DELIVERED_MEMORY = 20_000;

/** A side effect a machine declared, as its handler receives it. */
export interface ExternalEffect {
  /** Stable across replays: handlers dedupe on it. */
  readonly effectId: string;
  readonly kind: string;
  readonly data: JsonValue;
  readonly source: EntityRef;
  readonly at: number;
}

/** Runs one kind of external effect. Must be idempotent by `effectId`. */
export type EffectHandler = (effect: ExternalEffect) => Promise<void>;

interface PendingEffect {
  readonly outboxId: string;
  readonly effectId: string;
  readonly effect: JsonValue;
}

/** A record's key in the in-flight and delivered sets: outbox ids are per shard. */
const recordKey = (shard: number, outboxId: string): string => `${shard}\u0000${outboxId}`;

/** The items of a record: a batch's, or the record's one item. */
function outboxItemsOf(item: OutboxItem): readonly SingleOutboxItem[] {
  return item.kind === 'batch' ? item.items : [item];
}

/**
 * Drains a shard's outbox after commit: messages go to their target
 * mailboxes, effects to their handlers, and only then is the outbox record
 * deleted (fenced). A crash in between leaves the record, so the next owner of
 * the shard delivers it again; receivers dedupe by event/effect id.
 *
 * A record may be a batch (everything one commit declared). It is deleted
 * once all of its effects succeeded; while a failed one waits for the next
 * sweep, its siblings that did run are remembered here so this process does
 * not run them again (after a crash they may run twice, which handlers allow).
 *
 * After a commit (`deliverAfterCommit`) the caller goes on once the messages
 * are appended and the effects ran; deleting the records finishes in the
 * background (`settled` waits for it). A placement round's next round no
 * longer waits a store round trip for its predecessor's cleanup.
 */
export class OutboxRelay {
  private readonly completed = new BoundedCache<true>(COMPLETED_MEMORY);
  /** Records being delivered now, by shard and outbox id; a failed one stays in the outbox for a later sweep. */
  private readonly inFlight = new Set<string>();
  /** Records delivered and deleted here lately (outbox ids are never reused). */
  private readonly delivered = new BoundedCache<true>(DELIVERED_MEMORY);
  /** Deletions of delivered records still running (`deliverAfterCommit`). */
  private readonly cleanups = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly handlers: ReadonlyMap<string, EffectHandler>,
    private readonly logger: Logger,
  ) {}

  async deliver(shard: number, fence: number, all: readonly OutboxRecord[]): Promise<void> {
    // A record this process is delivering, or has just delivered, is not
    // delivered again: the sweep reads every record still in the outbox,
    // including one whose commit just returned and whose effects are running
    // (or done by the time the sweep gets to it). Running them twice would
    // dispatch a task twice, possibly after it ended.
    const records = all.filter((record) => {
      const key = recordKey(shard, record.outboxId);
      return !this.inFlight.has(key) && this.delivered.get(key) === undefined;
    });
    if (records.length === 0) return;
    for (const record of records) this.inFlight.add(recordKey(shard, record.outboxId));
    try {
      await this.deleteDelivered(shard, fence, await this.runRecords(records));
    } finally {
      for (const record of records) this.inFlight.delete(recordKey(shard, record.outboxId));
    }
  }

  /**
   * `deliver`, for records a commit just wrote (none can have been delivered
   * yet): resolves once the messages are appended and the effects ran; the
   * records are deleted in the background. A failed deletion leaves them to
   * the sweep, which then skips the effects that ran here.
   */
  async deliverAfterCommit(shard: number, fence: number, records: readonly OutboxRecord[]): Promise<void> {
    if (records.length === 0) return;
    const keys = records.map((record) => recordKey(shard, record.outboxId));
    for (const key of keys) this.inFlight.add(key);
    let done: { outboxIds: string[]; effectIds: string[] };
    try {
      done = await this.runRecords(records);
    } catch (error) {
      for (const key of keys) this.inFlight.delete(key);
      throw error;
    }
    const cleanup = this.deleteDelivered(shard, fence, done)
      .catch((error: unknown) => {
        for (const effectId of done.effectIds) this.completed.set(effectId, true);
        this.logger.warn({ err: error, shard, records: done.outboxIds.length }, 'delivered outbox records not deleted; the sweep will');
      })
      .finally(() => {
        for (const key of keys) this.inFlight.delete(key);
        this.cleanups.delete(cleanup);
      });
    this.cleanups.add(cleanup);
  }

  /** Resolves once every background deletion started so far has finished. */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all([...this.cleanups]);
  }

  /** Appends the records' messages and runs their effects; returns the records whose effects all ran, and the effects that ran. */
  private async runRecords(records: readonly OutboxRecord[]): Promise<{ outboxIds: string[]; effectIds: string[] }> {
    const messages: MailboxMessage[] = [];
    // One entity's effects run in order; different entities' run concurrently,
    // so a fan-out's thousands of effects overlap their store round trips.
    const bySource = new Map<string, PendingEffect[]>();
    for (const record of records) {
      for (const item of outboxItemsOf(record.item)) {
        if (item.kind === 'message') {
          messages.push(item.message);
          continue;
        }
        if (this.completed.get(item.effectId)) continue;
        const source = (item.effect as { source?: EntityRef } | null)?.source;
        const key = source ? `${source.kind}\u0000${source.id}` : item.effectId;
        let group = bySource.get(key);
        if (!group) bySource.set(key, (group = []));
        group.push({ outboxId: record.outboxId, effectId: item.effectId, effect: item.effect });
      }
    }
    if (messages.length > 0) await this.store.appendMailbox(messages);

    const failedRecords = new Set<string>();
    const succeeded: PendingEffect[] = [];
    const pending = [...bySource.values()];
    const runGroups = async (): Promise<void> => {
      for (let group = pending.shift(); group !== undefined; group = pending.shift()) {
        for (const item of group) {
          if (await this.runEffect(item.effectId, item.effect)) succeeded.push(item);
          else failedRecords.add(item.outboxId);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(EFFECT_CONCURRENCY, pending.length) }, runGroups));
    for (const item of succeeded) if (failedRecords.has(item.outboxId)) this.completed.set(item.effectId, true);
    return {
      outboxIds: records.map((record) => record.outboxId).filter((outboxId) => !failedRecords.has(outboxId)),
      effectIds: succeeded.filter((item) => !failedRecords.has(item.outboxId)).map((item) => item.effectId),
    };
  }

  private async deleteDelivered(shard: number, fence: number, done: { outboxIds: readonly string[] }): Promise<void> {
    if (done.outboxIds.length === 0) return;
    await this.store.deleteOutbox(shard, fence, done.outboxIds);
    for (const outboxId of done.outboxIds) this.delivered.set(recordKey(shard, outboxId), true);
  }

  /** Re-delivers whatever is left in the outbox (after a takeover or a failed relay). */
  async sweep(shard: number, fence: number, limit = 1000): Promise<number> {
    const records = await this.store.readOutbox(shard, limit);
    await this.deliver(shard, fence, records);
    return records.length;
  }

  private async runEffect(effectId: string, raw: JsonValue): Promise<boolean> {
    const effect = { ...(raw as object), effectId } as ExternalEffect;
    const handler = this.handlers.get(effect.kind);
    if (!handler) {
      // Nothing in this process acts on it; keeping it would replay it forever.
      this.logger.debug({ effectId, effectKind: effect.kind }, 'effect without handler dropped');
      return true;
    }
    try {
      await handler(effect);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, effectId, effectKind: effect.kind }, 'effect failed; kept in outbox for retry');
      return false;
    }
  }
}
