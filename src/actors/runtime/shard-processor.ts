import type { Logger } from 'pino';
import { BoundedCache } from '../../shared/bounded-cache.js';
import type { EntityRef, EntityWrite, MailboxDelivery, MailboxMessage, OutboxItem, Store } from '../../store/store.js';
import { applyEventsToEntity, type LoadedEntity } from './apply-events.js';
import { CommitBatch, refKey } from './commit-batch.js';
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
/**
 * Rounds of local sends applied within one commit (a job cancelling its
 * tasks, which tell the job they ended, is three); deeper chains continue
 * through the mailbox, so a message loop cannot grow one commit forever.
 */
const MAX_LOCAL_ROUNDS = 4;

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
        await this.relay.deliverAfterCommit(shard, fence, records);
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

  /**
   * Entities as last committed here when known, or assumed absent where their
   * batch creates them (`ActorKind.createEvent`), first attempts only; else
   * from the store.
   */
  private async loadEntities(shard: number, groups: readonly { ref: EntityRef; messages: readonly MailboxMessage[] }[], useCache: boolean): Promise<(LoadedEntity | null)[]> {
    const refs = groups.map((group) => group.ref);
    const found: (LoadedEntity | null | undefined)[] = useCache ? groups.map((group) => this.committed.get(cacheKey(shard, group.ref)) ?? (this.creates(group) ? null : undefined)) : refs.map(() => undefined);
    const missing = refs.filter((_, i) => found[i] === undefined);
    if (missing.length === 0) return found as LoadedEntity[];
    const loaded = await this.store.loadEntities(shard, missing);
    let next = 0;
    return found.map((entity) => (entity === undefined ? (loaded[next++] ?? null) : entity));
  }

  private creates(group: { ref: EntityRef; messages: readonly MailboxMessage[] }): boolean {
    const createEvent = this.router.kindOf(group.ref).createEvent;
    return createEvent !== undefined && (group.messages[0]?.event as { type?: unknown } | undefined)?.type === createEvent;
  }

  private async buildCommit(shard: number, fence: number, messages: readonly MailboxMessage[], ack: readonly string[], lookUpApplied: boolean) {
    const alreadyApplied = lookUpApplied ? await this.store.filterApplied(shard, [...new Set(messages.map((m) => m.eventId))]) : new Set<string>();
    const seen = new Set<string>();
    // The same event may sit in the mailbox twice (an outbox replayed after a crash).
    let round = messages.filter((message) => {
      if (alreadyApplied.has(message.eventId) || seen.has(message.eventId)) return false;
      seen.add(message.eventId);
      return true;
    });
    const batch = new CommitBatch(shard);
    // Messages a step sends to this shard's own entities (a task telling its
    // job) are applied in the next round of the same commit rather than
    // appended to the mailbox and read back: one commit instead of two, and
    // nothing to write, read, parse or acknowledge. Both ways the message is
    // applied exactly when the step that sent it commits.
    for (let depth = 0; round.length > 0; depth++) {
      await this.applyRound(shard, batch, round, depth === 0, !lookUpApplied);
      if (depth + 1 === MAX_LOCAL_ROUNDS) break; // what is left goes through the mailbox with the commit
      round = batch.takeLocalMessages();
    }
    return { ...batch.request(fence, ack), appliedCount: batch.appliedCount };
  }

  private async applyRound(shard: number, batch: CommitBatch, messages: readonly MailboxMessage[], recordApplied: boolean, useCache: boolean): Promise<void> {
    const byEntity = new Map<string, { ref: EntityRef; messages: MailboxMessage[] }>();
    for (const message of messages) {
      const key = refKey(message.target);
      let group = byEntity.get(key);
      if (!group) byEntity.set(key, (group = { ref: message.target, messages: [] }));
      group.messages.push(message);
    }
    const groups = [...byEntity.values()];
    // An entity an earlier round changed goes on from there; the others are loaded.
    const current = groups.map((group) => batch.current(group.ref));
    const unchanged = groups.filter((_, i) => current[i] === undefined);
    // Every target lives in `shard`: deliveries come from its mailbox, local sends name it.
    const loaded = await this.loadEntities(shard, unchanged, useCache);
    let next = 0;
    for (const [i, group] of groups.entries()) {
      const entity = current[i] ?? loaded[next++] ?? null;
      const change = applyEventsToEntity(this.router, group.ref, entity, group.messages);
      if (change.droppedEventIds.length > 0) {
        this.logger.warn({ shard, entity: group.ref, eventIds: change.droppedEventIds }, 'events for a missing entity dropped');
      }
      batch.add(change, recordApplied);
    }
  }
}
