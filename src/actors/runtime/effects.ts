import type { EntityRef } from '../../store/store.js';
import type { JsonObject, JsonValue } from '../../shared/json.js';

/**
 * Machines are pure (STYLE.md §1): they never perform I/O. They *declare*
 * effects as named XState actions whose implementations do nothing; XState's
 * pure `transition()` hands them back as action objects, and the runtime turns
 * them into outbox items and timers committed atomically with the snapshot.
 *
 * Use them in a machine as
 *   `{ type: 'send', params: ({ context, event }) => ({ to, event }) }`
 * after spreading `effectActions` into `setup({ actions })`.
 */

/** Every event carries the time it happened (epoch ms): machines never read a clock. */
export interface TimedEvent {
  readonly type: string;
  readonly at: number;
}

/** Deliver `event` to another entity (or to self), at least once, after commit. */
export interface SendParams {
  readonly to: EntityRef;
  readonly event: JsonObject & { type: string };
}

/** Put `event` into this entity's mailbox at `dueAt`; same `timerId` replaces. */
export interface ScheduleTimerParams {
  /** Unique within the entity; the runtime scopes it by entity. */
  readonly timerId: string;
  readonly dueAt: number;
  readonly event: JsonObject & { type: string };
}

export interface CancelTimerParams {
  readonly timerId: string;
}

/**
 * A side effect outside the store (dispatch to an agent, SSE notification,
 * webhook, ...). Runs after commit; handlers must be idempotent by `effectId`.
 */
export interface ExternalEffectParams {
  readonly kind: string;
  readonly data: JsonValue;
}

/** The effect action names the runtime understands. */
export const EFFECT_ACTION_TYPES = ['send', 'scheduleTimer', 'cancelTimer', 'effect'] as const;
export type EffectActionType = (typeof EFFECT_ACTION_TYPES)[number];

/** No-op implementations to spread into `setup({ actions })`. */
export const effectActions = {
  send: (_: unknown, _params: SendParams) => {},
  scheduleTimer: (_: unknown, _params: ScheduleTimerParams) => {},
  cancelTimer: (_: unknown, _params: CancelTimerParams) => {},
  effect: (_: unknown, _params: ExternalEffectParams) => {},
};

export type DeclaredEffect =
  | { readonly type: 'send'; readonly params: SendParams }
  | { readonly type: 'scheduleTimer'; readonly params: ScheduleTimerParams }
  | { readonly type: 'cancelTimer'; readonly params: CancelTimerParams }
  | { readonly type: 'effect'; readonly params: ExternalEffectParams };

/** Picks the declared effects out of the actions `transition()` returned. */
export function declaredEffects(actions: readonly { type: string; params?: unknown }[]): DeclaredEffect[] {
  const effects: DeclaredEffect[] = [];
  for (const action of actions) {
    if ((EFFECT_ACTION_TYPES as readonly string[]).includes(action.type)) {
      effects.push({ type: action.type, params: action.params } as DeclaredEffect);
    }
  }
  return effects;
}
