import { randomUUID } from 'node:crypto';
import { shardOf } from '../../shared/shards.js';
import type { JsonObject } from '../../shared/json.js';
import type { EntityRef, MailboxMessage } from '../../store/store.js';
import type { ActorKind } from './actor-kind.js';

/** An event as the runtime carries it: typed, timed, JSON. */
export type ActorEvent = JsonObject & { type: string; at: number };

/** Thrown for a ref whose kind no `ActorKind` registered: a programming error. */
export class UnknownActorKindError extends Error {
  readonly code = 'UNKNOWN_ACTOR_KIND';
  constructor(kind: string) {
    super(`no actor kind "${kind}" is registered with the runtime`);
    this.name = 'UnknownActorKindError';
  }
}

/**
 * Knows every registered kind and where each entity lives. Shared by the
 * controllers (to route) and by clients of the runtime (to address events).
 */
export class ActorRouter {
  private readonly kinds = new Map<string, ActorKind>();

  constructor(
    kinds: readonly ActorKind[],
    readonly shardCount: number,
  ) {
    for (const kind of kinds) this.kinds.set(kind.kind, kind);
  }

  kindOf(ref: EntityRef): ActorKind {
    const kind = this.kinds.get(ref.kind);
    if (!kind) throw new UnknownActorKindError(ref.kind);
    return kind;
  }

  shardOf(ref: EntityRef): number {
    return shardOf(this.kindOf(ref).routingKey(ref.id), this.shardCount);
  }

  /**
   * Addresses `event` to `target`. Without `eventId` a random one is made:
   * pass a deterministic id whenever the caller may send the same event twice
   * (a retried HTTP request, a replayed effect) so the target applies it once.
   */
  message(target: EntityRef, event: Omit<ActorEvent, 'at'> & { at?: number }, eventId?: string): MailboxMessage {
    const timed = { ...event, at: event.at ?? Date.now() } as ActorEvent;
    return { eventId: eventId ?? randomUUID(), target: { kind: target.kind, id: target.id }, shard: this.shardOf(target), event: timed };
  }
}
