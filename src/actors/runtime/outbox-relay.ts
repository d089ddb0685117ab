import type { Logger } from 'pino';
import type { JsonValue } from '../../shared/json.js';
import type { EntityRef, MailboxMessage, OutboxRecord, Store } from '../../store/store.js';

/** Effects of distinct entities in flight at once while a batch's outbox is drained. */
const EFFECT_CONCURRENCY = 64;

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

/**
 * Drains a shard's outbox after commit: messages go to their target
 * mailboxes, effects to their handlers, and only then is the outbox entry
 * deleted (fenced). A crash in between leaves the entry, so the next owner of
 * the shard delivers it again; receivers dedupe by event/effect id.
 */
export class OutboxRelay {
  constructor(
    private readonly store: Store,
    private readonly handlers: ReadonlyMap<string, EffectHandler>,
    private readonly logger: Logger,
  ) {}

  async deliver(shard: number, fence: number, records: readonly OutboxRecord[]): Promise<void> {
    if (records.length === 0) return;
    const messages: MailboxMessage[] = [];
    const done: string[] = [];
    for (const record of records) {
      if (record.item.kind === 'message') {
        messages.push(record.item.message);
        done.push(record.outboxId);
      }
    }
    if (messages.length > 0) await this.store.appendMailbox(messages);
    // One entity's effects run in order; different entities' run concurrently,
    // so a fan-out's thousands of effects overlap their store round trips.
    const bySource = new Map<string, { outboxId: string; effectId: string; effect: JsonValue }[]>();
    for (const record of records) {
      if (record.item.kind !== 'effect') continue;
      const source = (record.item.effect as { source?: EntityRef } | null)?.source;
      const key = source ? `${source.kind}\u0000${source.id}` : record.outboxId;
      let group = bySource.get(key);
      if (!group) bySource.set(key, (group = []));
      group.push({ outboxId: record.outboxId, effectId: record.item.effectId, effect: record.item.effect });
    }
    const pending = [...bySource.values()];
    const runGroups = async (): Promise<void> => {
      for (let group = pending.shift(); group !== undefined; group = pending.shift()) {
        for (const item of group) if (await this.runEffect(item.effectId, item.effect)) done.push(item.outboxId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(EFFECT_CONCURRENCY, pending.length) }, runGroups));
    if (done.length > 0) await this.store.deleteOutbox(shard, fence, done);
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
