import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { JsonValue } from '../../shared/json.js';
import type { EntityRef, MailboxDelivery, MailboxMessage, Store } from '../../store/store.js';
import type { ActorKind } from './actor-kind.js';
import { readViews } from './read-views.js';
import { OutboxRelay, type EffectHandler } from './outbox-relay.js';
import { ActorRouter, type ActorEvent } from './router.js';
import { ShardOwnership } from './shard-ownership.js';
import { ShardProcessor } from './shard-processor.js';

export interface ControllerNodeOptions {
  readonly store: Store;
  readonly kinds: readonly ActorKind[];
  readonly logger: Logger;
  /** Unique per process; default `<hostname>-<pid>-<random>`. */
  readonly controllerId?: string;
  /** Shard lease lifetime (ms); a dead controller's shards move after this. Default 10 000. */
  readonly leaseTtlMs?: number;
  /** Membership heartbeat and lease renewal period (ms). Default 2 000; keep ≤ leaseTtlMs / 3. */
  readonly heartbeatIntervalMs?: number;
  /** Mailbox entries read per loop turn across all owned shards. Default 1 000. */
  readonly mailboxBatchSize?: number;
  /** How often pending mailbox entries are reclaimed and outbox leftovers swept (ms). Default 2 000. */
  readonly outboxSweepIntervalMs?: number;
  /** Handlers for external effects, by effect kind. */
  readonly effectHandlers?: ReadonlyMap<string, EffectHandler>;
  /** Published in the controller registry (e.g. HTTP and gRPC addresses). */
  readonly info?: JsonValue | (() => JsonValue);
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

/** How long the mailbox read blocks; bounds how fast ownership changes take effect. */
const MAILBOX_BLOCK_MS = 100;
/** Timer resolution: due timers fire within this many ms. */
const TIMER_POLL_MS = 50;

/**
 * One controller's actor host: it holds leases on its share of the shards,
 * consumes their mailboxes through the commit loop, fires their durable
 * timers and drains their outboxes. Any number of these run against one
 * Redis; the embedded store allows one.
 */
export class ControllerNode {
  readonly controllerId: string;
  readonly router: ActorRouter;
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly leaseTtlMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly batchSize: number;
  private readonly sweepIntervalMs: number;
  private readonly ownership: ShardOwnership;
  private readonly relay: OutboxRelay;
  private readonly processor: ShardProcessor;
  /** Shards whose pending entries must be reclaimed before new ones are read. */
  private readonly needsReclaim = new Set<number>();
  private running = false;
  private loops: Promise<void>[] = [];
  private lastRoundOkAt = 0;
  private firstRoundDone = false;
  private lastRoundError: string | undefined;
  private readonly sleepers = new Set<() => void>();

  constructor(options: ControllerNodeOptions) {
    this.store = options.store;
    this.controllerId = options.controllerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.logger = options.logger.child({ controllerId: this.controllerId });
    this.leaseTtlMs = options.leaseTtlMs ?? 10_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2_000;
    this.batchSize = options.mailboxBatchSize ?? 1_000;
    this.sweepIntervalMs = options.outboxSweepIntervalMs ?? 2_000;
    this.router = new ActorRouter(options.kinds, this.store.shardCount);
    this.relay = new OutboxRelay(this.store, options.effectHandlers ?? new Map(), this.logger);
    const ownership = new ShardOwnership({
      store: this.store,
      controllerId: this.controllerId,
      leaseTtlMs: this.leaseTtlMs,
      info: options.info ?? null,
      logger: this.logger,
      onGained: (shard) => {
        this.needsReclaim.add(shard);
        this.wakeSleepers();
      },
      onLost: (shard) => this.needsReclaim.delete(shard),
    });
    this.ownership = ownership;
    this.processor = new ShardProcessor(this.store, this.router, this.relay, ownership, this.logger);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.ownershipRound();
    this.loops = [this.runLoop('ownership', () => this.ownershipLoop()), this.runLoop('mailbox', () => this.mailboxLoop()), this.runLoop('timers', () => this.timerLoop()), this.runLoop('maintenance', () => this.maintenanceLoop())];
    this.logger.info({ shards: this.ownership.ownedShards().length }, 'controller node started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeSleepers();
    await Promise.all(this.loops);
    // Delivered records still being deleted: released first, the next owner would deliver them again.
    await this.relay.settled();
    await this.ownership.releaseAll().catch((error: unknown) => this.logger.warn({ err: error }, 'releasing leases failed'));
    this.logger.info('controller node stopped');
  }

  readiness(): Readiness {
    const storeOk = this.running && this.firstRoundDone && Date.now() - this.lastRoundOkAt < this.leaseTtlMs;
    const owned = this.ownership.ownedShards().length;
    return {
      ready: storeOk,
      checks: {
        store: storeOk ? { ok: true, detail: this.store.kind } : { ok: false, detail: this.lastRoundError ?? 'not reached yet' },
        shards: { ok: this.firstRoundDone, detail: `${owned} of ${this.store.shardCount} owned here` },
      },
    };
  }

  ownedShards(): number[] {
    return this.ownership.ownedShards();
  }

  /** Addresses an event; see `ActorRouter.message` for when to pass `eventId`. */
  message(target: EntityRef, event: Omit<ActorEvent, 'at'> & { at?: number }, eventId?: string): MailboxMessage {
    return this.router.message(target, event, eventId);
  }

  /** Sends events to entities on any shard (owned here or not). */
  async send(messages: readonly MailboxMessage[]): Promise<void> {
    await this.store.appendMailbox(messages);
  }

  /**
   * Applies events now on the shards this node owns, skipping the mailbox
   * round trip (append, read, acknowledge); the rest are sent as usual.
   * Resolves once every event is committed or durably queued. Events applied
   * here may overtake ones already waiting in the mailbox, so this is for
   * events whose order against those does not matter: creating the entities
   * of a new job, which nothing else addresses yet, or an agent's reports,
   * which the task machine orders itself.
   */
  async applyNow(messages: readonly MailboxMessage[]): Promise<void> {
    const byShard = new Map<number, MailboxMessage[]>();
    for (const message of messages) {
      const list = byShard.get(message.shard);
      if (list) list.push(message);
      else byShard.set(message.shard, [message]);
    }
    for (const [shard, batch] of byShard) {
      let applied: number | undefined;
      try {
        applied = await this.processor.applyDirect(shard, batch);
      } catch (error) {
        // Lost commit races, or a relay that failed after its commit: the
        // mailbox retries for as long as it takes, and a copy of an event
        // that did commit is recognised by its id there.
        this.logger.warn({ err: error, shard, events: batch.length }, 'direct apply failed; sending through the mailbox');
      }
      if (applied === undefined) await this.send(batch);
    }
  }

  /**
   * Public views of entities on any shard, in `refs` order; null where none
   * exists. Throws `UnknownActorKindError` for a kind this node was not given:
   * without its routing the entity's shard is unknown.
   */
  async readModels(refs: readonly EntityRef[]): Promise<(JsonValue | null)[]> {
    return readViews(this.store, this.router, refs);
  }

  private async ownershipRound(): Promise<void> {
    try {
      await this.ownership.round();
      this.lastRoundOkAt = Date.now();
      this.firstRoundDone = true;
      this.lastRoundError = undefined;
    } catch (error) {
      this.lastRoundError = error instanceof Error ? error.message : String(error);
      this.logger.error({ err: error }, 'ownership round failed');
    }
  }

  private async ownershipLoop(): Promise<void> {
    while (this.running) {
      await this.sleep(this.heartbeatIntervalMs);
      if (this.running) await this.ownershipRound();
    }
  }

  private async mailboxLoop(): Promise<void> {
    while (this.running) {
      for (const shard of [...this.needsReclaim]) {
        this.needsReclaim.delete(shard);
        await this.guard(shard, async () => {
          const pending = await this.store.reclaimMailbox(shard, this.controllerId);
          if (pending.length > 0) await this.processor.process(shard, pending);
          const fence = this.ownership.fenceOf(shard);
          if (fence !== undefined) await this.relay.sweep(shard, fence);
        });
      }
      const shards = this.ownership.ownedShards();
      if (shards.length === 0) {
        await this.sleep(MAILBOX_BLOCK_MS);
        continue;
      }
      const deliveries = await this.store.readMailbox(shards, this.controllerId, { count: this.batchSize, blockMs: MAILBOX_BLOCK_MS });
      const byShard = new Map<number, MailboxDelivery[]>();
      for (const delivery of deliveries) {
        const list = byShard.get(delivery.shard);
        if (list) list.push(delivery);
        else byShard.set(delivery.shard, [delivery]);
      }
      await Promise.all([...byShard].map(([shard, batch]) => this.guard(shard, () => this.processor.process(shard, batch))));
    }
  }

  private async timerLoop(): Promise<void> {
    while (this.running) {
      const shards = this.ownership.ownedShards();
      const next = shards.length > 0 ? await this.store.nextTimerDue(shards) : null;
      const now = Date.now();
      if (next !== null && next <= now) {
        await Promise.all(
          shards.map((shard) =>
            this.guard(shard, async () => {
              const fence = this.ownership.fenceOf(shard);
              if (fence !== undefined) await this.store.fireDueTimers(shard, fence, now, 1_000);
            }),
          ),
        );
        continue;
      }
      await this.sleep(next === null ? TIMER_POLL_MS : Math.min(TIMER_POLL_MS, next - now));
    }
  }

  /**
   * Every sweep interval each owned shard goes through the reclaim path again:
   * it re-takes pending entries of any consumer (a deposed owner may have read
   * entries it can no longer commit) and re-delivers outbox leftovers.
   */
  private async maintenanceLoop(): Promise<void> {
    while (this.running) {
      await this.sleep(this.sweepIntervalMs);
      for (const shard of this.ownership.ownedShards()) this.needsReclaim.add(shard);
    }
  }

  /**
   * A failure on one shard must not stop the others: log it and reclaim the
   * shard's pending entries on the next turn, so nothing delivered is lost.
   */
  private async guard(shard: number, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!this.running) return;
      this.logger.error({ err: error, shard }, 'shard work failed; will retry');
      if (this.ownership.fenceOf(shard) !== undefined) this.needsReclaim.add(shard);
      await this.sleep(50);
    }
  }

  private async runLoop(name: string, loop: () => Promise<void>): Promise<void> {
    while (this.running) {
      try {
        await loop();
      } catch (error) {
        if (!this.running) return;
        this.logger.error({ err: error, loop: name }, 'runtime loop crashed; restarting');
        await this.sleep(200);
      }
    }
  }

  /** Sleeps, but `stop()` and newly gained shards cut it short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.sleepers.add(done);
    });
  }

  private wakeSleepers(): void {
    for (const wake of [...this.sleepers]) wake();
  }
}
