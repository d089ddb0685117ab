import type { Logger } from 'pino';
import type { JsonValue } from '../../shared/json.js';
import type { Store } from '../../store/store.js';
import { preferredShards, shardLeaseName } from './shard-assignment.js';
import type { FenceSource } from './shard-processor.js';

export const CONTROLLER_GROUP = 'controllers';

export interface ShardOwnershipOptions {
  readonly store: Store;
  readonly controllerId: string;
  readonly leaseTtlMs: number;
  /** Published with each heartbeat; a function is read each time (e.g. an address known only after listen). */
  readonly info: JsonValue | (() => JsonValue);
  readonly logger: Logger;
  /** Called once per newly acquired shard, with its fencing token. */
  readonly onGained: (shard: number, fence: number) => void;
  readonly onLost: (shard: number) => void;
}

export interface OwnershipRound {
  readonly liveControllers: string[];
  readonly gained: number[];
  readonly released: number[];
  readonly lost: number[];
}

/**
 * Keeps this controller's membership heartbeat and shard leases up to date.
 * One `round()` = heartbeat, read live members, renew owned leases, release
 * shards that now belong to someone else, acquire shards that belong to us.
 * Called every heartbeat interval; the lease TTL must span several intervals.
 */
export class ShardOwnership implements FenceSource {
  private readonly owned = new Map<number, number>();

  constructor(private readonly options: ShardOwnershipOptions) {}

  fenceOf(shard: number): number | undefined {
    return this.owned.get(shard);
  }

  ownedShards(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  markLost(shard: number, reason: string): void {
    if (!this.owned.delete(shard)) return;
    this.options.logger.warn({ shard, reason }, 'shard lost');
    this.options.onLost(shard);
  }

  async round(): Promise<OwnershipRound> {
    const { store, controllerId, leaseTtlMs, info } = this.options;
    await store.heartbeatMember(CONTROLLER_GROUP, controllerId, typeof info === 'function' ? info() : info, leaseTtlMs);
    const [members, now] = await Promise.all([store.listMembers(CONTROLLER_GROUP), store.now()]);
    const liveControllers = members.filter((m) => m.expiresAt > now).map((m) => m.id);
    const wanted = new Set(preferredShards(controllerId, liveControllers, store.shardCount));

    const lost: number[] = [];
    await Promise.all(
      [...this.owned].map(async ([shard, token]) => {
        const lease = await store.renewLease(shardLeaseName(shard), controllerId, token, leaseTtlMs);
        if (!lease) lost.push(shard);
      }),
    );
    for (const shard of lost) this.markLost(shard, 'lease renewal failed');

    const released: number[] = [];
    await Promise.all(
      [...this.owned].filter(([shard]) => !wanted.has(shard)).map(async ([shard, token]) => {
        // Forget the fence first: no commit may start on a shard we are handing over.
        this.owned.delete(shard);
        this.options.onLost(shard);
        await store.releaseLease(shardLeaseName(shard), controllerId, token);
        released.push(shard);
      }),
    );

    const gained: number[] = [];
    await Promise.all(
      [...wanted].filter((shard) => !this.owned.has(shard)).map(async (shard) => {
        const lease = await store.acquireLease(shardLeaseName(shard), controllerId, leaseTtlMs);
        if (!lease) return; // still held by its previous owner until it releases or expires
        this.owned.set(shard, lease.token);
        gained.push(shard);
        this.options.onGained(shard, lease.token);
      }),
    );
    if (gained.length || released.length || lost.length) {
      this.options.logger.info({ gained, released, lost, owned: this.owned.size, liveControllers }, 'shard ownership changed');
    }
    return { liveControllers, gained, released, lost };
  }

  /** Hands every shard back at shutdown so survivors need not wait for expiry. */
  async releaseAll(): Promise<void> {
    const { store, controllerId } = this.options;
    const held = [...this.owned];
    this.owned.clear();
    await Promise.all(held.map(([shard, token]) => store.releaseLease(shardLeaseName(shard), controllerId, token)));
    await store.removeMember(CONTROLLER_GROUP, controllerId);
  }
}
