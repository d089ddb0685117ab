/**
 * How the accounts area reaches the account actor. A `ControllerNode`
 * satisfies {@link ActorMailbox} as is; processes that host no actors (the
 * admin CLI) use {@link storeActorMailbox}, which appends to the same
 * mailboxes — whichever controller owns the shard applies the event.
 */
import { actorKinds } from '../actors/index.js';
import { ActorRouter, type ActorEvent } from '../actors/runtime/index.js';
import type { EntityRef, MailboxMessage, Store } from '../store/index.js';

/** Addresses and sends actor events (the part of `ControllerNode` this area uses). */
export interface ActorMailbox {
  message(target: EntityRef, event: Omit<ActorEvent, 'at'> & { at?: number }, eventId?: string): MailboxMessage;
  send(messages: readonly MailboxMessage[]): Promise<void>;
}

/** A mailbox writer over `store`, routing with the product's entity kinds. */
export function storeActorMailbox(store: Store): ActorMailbox {
  const router = new ActorRouter(actorKinds, store.shardCount);
  return {
    message: (target, event, eventId) => router.message(target, event, eventId),
    send: (messages) => store.appendMailbox(messages),
  };
}

/**
 * The id of an account's `account.open` event. Deterministic, so a retried
 * or repaired creation sends the same event and the actor opens once.
 */
export function accountOpenEventId(accountId: string): string {
  return `account.open:${accountId}`;
}
