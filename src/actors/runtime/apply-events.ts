import type { EntityRef, EntityWrite, EventLogEntry, MailboxMessage, SingleOutboxItem, StoredEntity, TimerSpec } from '../../store/store.js';
import type { PersistedActorState } from './actor-kind.js';
import { persistSnapshot, restoreSnapshot, startActor, stepActor } from './actor-state.js';
import { declaredEffects } from './effects.js';
import { compactState, expandState } from './context-storage.js';
import type { ActorEvent, ActorRouter } from './router.js';

/**
 * An entity as the machine last left it: its persisted (expanded) form and
 * the XState snapshot. Kept beside a cached stored entity so the next batch
 * for it skips expanding and resolving the stored form; XState snapshots are
 * immutable values, so sharing one is safe.
 */
export interface LiveEntityState {
  readonly persisted: PersistedActorState;
  readonly snapshot: ReturnType<typeof restoreSnapshot>;
}

/** A stored entity, with its live state when the caller kept it (the state `snapshot` stores). */
export type LoadedEntity = StoredEntity & { readonly live?: LiveEntityState };

/** Everything one entity's batch of events turns into; committed as one unit. */
export interface EntityChange {
  /** Absent when every event was dropped (no entity to create). */
  readonly write?: EntityWrite;
  /** The state `write` stores, live (with `write`). */
  readonly live?: LiveEntityState;
  readonly outbox: SingleOutboxItem[];
  readonly scheduleTimers: TimerSpec[];
  readonly cancelTimers: string[];
  readonly appliedEventIds: string[];
  /** Events that reached a missing entity and could not create it. */
  readonly droppedEventIds: string[];
}

/** Timer ids are per entity in machines; the store needs them unique per shard. */
export function scopedTimerId(ref: EntityRef, timerId: string): string {
  return `${ref.kind}:${ref.id}:${timerId}`;
}

/**
 * Applies `messages` (oldest first) to one entity with XState's pure
 * `transition()`, and translates the effects the machine declared into outbox
 * items and timers. No I/O: the caller commits the result atomically.
 *
 * Runs of the kind's `batchedEvents` are one step, caused by their first message.
 * Ids of derived messages and effects are derived from the causing event's id,
 * so replaying the same event (after a crash before commit) yields the same
 * ids and downstream dedupe stays exact.
 */
export function applyEventsToEntity(router: ActorRouter, ref: EntityRef, stored: LoadedEntity | null, messages: readonly MailboxMessage[]): EntityChange {
  const kind = router.kindOf(ref);
  const change: EntityChange = { outbox: [], scheduleTimers: [], cancelTimers: [], appliedEventIds: [], droppedEventIds: [] };
  let persisted: PersistedActorState | null = stored ? (stored.live?.persisted ?? expandState(kind, stored.snapshot as unknown as PersistedActorState)) : null;
  let snapshot = persisted ? (stored?.live?.snapshot ?? restoreSnapshot(kind.machine, persisted)) : null;
  const log: EventLogEntry[] = [];

  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as MailboxMessage;
    let event = message.event as ActorEvent;
    let folded: readonly MailboxMessage[] = [message];
    let outcome;
    if (snapshot === null) {
      const input = kind.inputFromCreateEvent(ref.id, event);
      if (input === undefined) {
        change.droppedEventIds.push(message.eventId);
        continue;
      }
      outcome = startActor(kind.machine, input);
    } else {
      const run = batchedRun(kind, messages, i);
      if (run > 1 && kind.batchedEvents) {
        folded = messages.slice(i, i + run);
        event = kind.batchedEvents.fold(folded.map((m) => m.event as ActorEvent));
        i += run - 1;
      }
      outcome = stepActor(kind.machine, snapshot, event);
    }
    const next = persistSnapshot(outcome.snapshot);
    const line = (kind.logEntry ?? defaultLogEntry)(event, persisted, next);
    if (line) log.push(line);
    translateEffects(router, ref, message, event, outcome.actions, change);
    for (const applied of folded) change.appliedEventIds.push(applied.eventId);
    snapshot = outcome.snapshot;
    persisted = next;
  }

  if (persisted === null || snapshot === null || change.appliedEventIds.length === 0) return change;
  const readModel = kind.readModelStorage === 'derived' ? undefined : kind.readModel?.(persisted, ref.id);
  const write: EntityWrite = {
    ref,
    expectedVersion: stored?.version ?? 0,
    snapshot: compactState(kind, persisted) as unknown as EntityWrite['snapshot'],
    ...(readModel !== undefined ? { readModel } : {}),
    ...(log.length > 0 ? { log } : {}),
  };
  return { ...change, write, live: { persisted, snapshot } };
}

/** How many messages from `start` on the kind folds into one step (1: none). */
function batchedRun(kind: ReturnType<ActorRouter['kindOf']>, messages: readonly MailboxMessage[], start: number): number {
  const type = kind.batchedEvents?.type;
  if (type === undefined || eventTypeAt(messages, start) !== type) return 1;
  let end = start + 1;
  while (end < messages.length && eventTypeAt(messages, end) === type) end++;
  return end - start;
}

// Module functions rather than closures on this path (every step of every
// entity): tsx names each closure it creates with an `Object.defineProperty`.
function eventTypeAt(messages: readonly MailboxMessage[], index: number): unknown {
  return ((messages[index] as MailboxMessage).event as ActorEvent).type;
}

function translateEffects(
  router: ActorRouter,
  self: EntityRef,
  cause: MailboxMessage,
  event: ActorEvent,
  actions: readonly { type: string; params?: unknown }[],
  change: EntityChange,
): void {
  declaredEffects(actions).forEach((effect, index) => {
    const derivedId = `${cause.eventId}/${index}`;
    switch (effect.type) {
      case 'send': {
        const sent = { ...effect.params.event, at: (effect.params.event.at as number | undefined) ?? event.at };
        change.outbox.push({ kind: 'message', message: router.message(effect.params.to, sent, derivedId) });
        break;
      }
      case 'scheduleTimer': {
        const { timerId, dueAt } = effect.params;
        const timed = { ...effect.params.event, at: dueAt };
        const message = router.message(self, timed, `timer:${scopedTimerId(self, timerId)}@${dueAt}`);
        const scoped = scopedTimerId(self, timerId);
        // Schedule and cancel lists stay disjoint, so the commit may apply them in any order.
        removeWhere(change.cancelTimers, (id) => id === scoped);
        removeWhere(change.scheduleTimers, (timer) => timer.timerId === scoped);
        change.scheduleTimers.push({ timerId: scoped, dueAt, message });
        break;
      }
      case 'cancelTimer': {
        const scoped = scopedTimerId(self, effect.params.timerId);
        removeWhere(change.scheduleTimers, (timer) => timer.timerId === scoped);
        if (!change.cancelTimers.includes(scoped)) change.cancelTimers.push(scoped);
        break;
      }
      case 'effect':
        change.outbox.push({
          kind: 'effect',
          effectId: derivedId,
          effect: { kind: effect.params.kind, data: effect.params.data, source: { kind: self.kind, id: self.id }, at: event.at },
        });
        break;
    }
  });
}

function removeWhere<T>(items: T[], predicate: (item: T) => boolean): void {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i] as T)) items.splice(i, 1);
}

/** By default the event log records state changes: what `/events` shows a user. */
function defaultLogEntry(event: ActorEvent, before: PersistedActorState | null, after: PersistedActorState): EventLogEntry | undefined {
  const from = before === null ? null : JSON.stringify(before.value);
  const to = JSON.stringify(after.value);
  if (from === to) return undefined;
  return { at: event.at, type: event.type, data: { from: before?.value ?? null, to: after.value } };
}
