import type { Logger } from 'pino';
import { BoundedCache } from '../../shared/bounded-cache.js';
import type { CommitRequest, EntityRef, EntityWrite, MailboxDelivery, MailboxMessage, OutboxItem, SingleOutboxItem, Store, TimerSpec } from '../../store/store.js';
import { applyEventsToEntity, type LiveEntityState, type LoadedEntity } from './apply-events.js';
import type { OutboxRelay } from './outbox-relay.js';
import type { ActorRouter } from './router.js';

/** How the processor learns and reports shard ownership. */
export interface FenceSource {
  fenceOf(shard: number): number | undefined;
  markLost(shard: number, reason: string): void;
}

/** Bounded: conflicts only come from takeover races, which resolve in one reload. */
const MAX_COMMIT_ATTEMPTS = 5;
/** Entities whose last committed snapshot this process keeps (a few busy agents' running tasks and their jobs). */
const ENTITY_CACHE_SIZE = 20_000;

const refKey = (ref: EntityRef): string => `${ref.kind}\u0000${ref.id}`;
const cacheKey = (shard: number, ref: EntityRef): string => `${shard}\u0000${refKey(ref)}`;

/**
 * The runtime loop for one shard and one batch of mailbox deliveries:
 * load → `transition()` → one atomic commit (snapshots, read models, event
 * log, applied ids, acks, outbox, timers) → run effects. Everything in the
 * batch is committed in one store operation, which is what makes a fan-out of
 * thousands of events cost one round trip instead of thousands.
 */
export class ShardProcessor {
  /**
   * Write-through cache of what this process last committed, by shard and
   * entity: a task is written at dispatch and read back a moment later for
   * its result, and its job for every batch of results. A cached entry is
   * only a guess — the commit checks its version, and a lost race reloads
   * from the store — so another controller's write can never be overwritten.
   * Entries keep the machine's live state too, so the next step skips
   * expanding and resolving the stored form.
   */
  private readonly committed = new BoundedCache<LoadedEntity>(ENTITY_CACHE_SIZE);

  constructor(
    private readonly store: Store,
    private readonly router: ActorRouter,
    private readonly relay: OutboxRelay,
    private readonly fences: FenceSource,
    private readonly logger: Logger,
  ) {}

  /** Returns the number of events applied (duplicates and drops excluded). */
  async process(shard: number, deliveries: readonly MailboxDelivery[]): Promise<number> {
    const applied = await this.commitEvents(
      shard,
      deliveries.map((d) => d.message),
      deliveries.map((d) => d.entryId),
    );
    // Not ours any more: the new owner reclaims the pending entries.
    return applied ?? 0;
  }

  /**
   * Applies `messages` (all addressed to `shard`) without their passing
   * through the mailbox: the same load → transition → fenced commit → outbox
   * path, acknowledging nothing. Undefined when this node does not own the
   * shard (or lost it meanwhile): nothing was committed, send them instead.
   */
  async applyDirect(shard: number, messages: readonly MailboxMessage[]): Promise<number | undefined> {
    return this.commitEvents(shard, messages, []);
  }

  private async commitEvents(shard: number, messages: readonly MailboxMessage[], ack: readonly string[]): Promise<number | undefined> {
    for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
      const fence = this.fences.fenceOf(shard);
      if (fence === undefined) return undefined;
      // Redelivery is rare, so the first attempt skips the applied-id lookup and
      // lets the commit's own check catch a duplicate; later attempts look first.
      const request = await this.buildCommit(shard, fence, messages, ack, attempt > 1);
      let result;
      try {
        result = await this.store.commit(request.commit);
      } catch (error) {
        // Committed or not, nobody can say: the cached versions are guesses no more.
        this.forget(shard, request.commit.writes);
        throw error;
      }
      if (result.ok) {
        request.commit.writes.forEach((write, i) => {
          const key = cacheKey(shard, write.ref);
          // A finished entity (a task that ended) is rarely written again: keeping it would only age the cache.
          if ((write.snapshot as { status?: unknown }).status === 'done') this.committed.delete(key);
          else this.committed.set(key, { ref: write.ref, version: write.expectedVersion + 1, snapshot: write.snapshot, live: request.live[i] });
        });
        const records = result.outboxIds.map((outboxId, i) => ({ outboxId, item: request.outbox[i] as OutboxItem }));
        await this.relay.deliver(shard, fence, records);
        return request.appliedCount;
      }
      this.forget(shard, request.commit.writes);
      if (result.reason === 'stale_fence') {
        this.fences.markLost(shard, 'commit rejected: stale fencing token');
        return undefined;
      }
      this.logger.debug({ shard, attempt, result }, 'commit lost a race; reloading');
    }
    throw new Error(`shard ${shard}: commit failed ${MAX_COMMIT_ATTEMPTS} times in a row`);
  }

  private forget(shard: number, writes: readonly EntityWrite[]): void {
    for (const write of writes) this.committed.delete(cacheKey(shard, write.ref));
  }

  /** Entities as last committed here when known (first attempts only), else from the store. */
  private async loadEntities(shard: number, refs: readonly EntityRef[], useCache: boolean): Promise<(LoadedEntity | null)[]> {
    const found: (LoadedEntity | null | undefined)[] = refs.map((ref) => (useCache ? this.committed.get(cacheKey(shard, ref)) : undefined));
    const missing = refs.filter((_, i) => found[i] === undefined);
    if (missing.length === 0) return found as LoadedEntity[];
    const loaded = await this.store.loadEntities(shard, missing);
    let next = 0;
    return found.map((entity) => (entity === undefined ? (loaded[next++] ?? null) : entity));
  }

  private async buildCommit(shard: number, fence: number, messages: readonly MailboxMessage[], ack: readonly string[], lookUpApplied: boolean) {
    const alreadyApplied = lookUpApplied ? await this.store.filterApplied(shard, [...new Set(messages.map((m) => m.eventId))]) : new Set<string>();
    const byEntity = new Map<string, { ref: EntityRef; messages: MailboxMessage[] }>();
    const seen = new Set<string>();
    for (const message of messages) {
      // The same event may sit in the mailbox twice (an outbox replayed after a crash).
      if (alreadyApplied.has(message.eventId) || seen.has(message.eventId)) continue;
      seen.add(message.eventId);
      const key = refKey(message.target);
      let group = byEntity.get(key);
      if (!group) byEntity.set(key, (group = { ref: message.target, messages: [] }));
      group.messages.push(message);
    }

    const groups = [...byEntity.values()];
    // Deliveries come from this shard's mailbox, so every target lives in `shard`.
    const stored = await this.loadEntities(
      shard,
      groups.map((g) => g.ref),
      !lookUpApplied,
    );
    const writes: EntityWrite[] = [];
    const live: (LiveEntityState | undefined)[] = [];
    const appliedEventIds: string[] = [];
    const outbox: SingleOutboxItem[] = [];
    const scheduleTimers: TimerSpec[] = [];
    const cancelTimers: string[] = [];
    groups.forEach((group, i) => {
      const change = applyEventsToEntity(this.router, group.ref, stored[i] ?? null, group.messages);
      if (change.droppedEventIds.length > 0) {
        this.logger.warn({ shard, entity: group.ref, eventIds: change.droppedEventIds }, 'events for a missing entity dropped');
      }
      if (change.write) {
        writes.push(change.write);
        live.push(change.live);
      }
      appliedEventIds.push(...change.appliedEventIds);
      outbox.push(...change.outbox);
      scheduleTimers.push(...change.scheduleTimers);
      cancelTimers.push(...change.cancelTimers);
    });
    // Messages to this shard's own entities (a task telling its job) go
    // straight into its mailbox with the commit; everything else the batch
    // declared is one outbox record: one write now and one delete after delivery.
    const send: MailboxMessage[] = [];
    const relayed: SingleOutboxItem[] = [];
    for (const item of outbox) {
      if (item.kind === 'message' && item.message.shard === shard) send.push(item.message);
      else relayed.push(item);
    }
    const records: OutboxItem[] = relayed.length > 1 ? [{ kind: 'batch', items: relayed }] : relayed;
    const commit: CommitRequest = { shard, fence, writes, appliedEventIds, ack, outbox: records, send, scheduleTimers, cancelTimers };
    return { commit, outbox: records, appliedCount: appliedEventIds.length, live };
  }
}
