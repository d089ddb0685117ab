import type { AnyStateMachine } from 'xstate';
import type { PersistedActorState } from '../../src/actors/runtime/actor-kind.js';
import { restoreSnapshot, startActor, stepActor } from '../../src/actors/runtime/actor-state.js';
import { declaredEffects, type DeclaredEffect } from '../../src/actors/runtime/effects.js';

type AnySnapshot = ReturnType<AnyStateMachine['resolveState']>;

/** What the runtime stores for an actor, as it comes back from JSON. */
export interface StoredState<TContext> {
  value: unknown;
  context: TContext;
  status: string;
}

/**
 * Drives a pure machine the way the runtime does — `startActor` then
 * `stepActor` per event, so through transition plans (which the test suite
 * runs with COMPUTALOT_VERIFY_TRANSITION_PLANS=1: every replayed step is
 * checked against XState) — and keeps the effects each step declared.
 * Nothing runs: tests assert state, context and declared effects.
 */
export class MachineDriver<TContext> {
  snapshot: AnySnapshot;
  /** Effects declared by the last step (creation or `send`). */
  effects: DeclaredEffect[];

  constructor(
    readonly machine: AnyStateMachine,
    input: unknown,
  ) {
    const { snapshot, actions } = startActor(machine, input);
    this.snapshot = snapshot;
    this.effects = declaredEffects(actions);
  }

  /** Applies one event; returns the effects it declared. */
  send(event: { type: string; at: number; [key: string]: unknown }): DeclaredEffect[] {
    const { snapshot: next, actions } = stepActor(this.machine, this.snapshot, event);
    this.snapshot = next;
    this.effects = declaredEffects(actions);
    return this.effects;
  }

  get value(): unknown {
    return this.snapshot.value as unknown;
  }

  get context(): TContext {
    return this.snapshot.context as TContext;
  }

  get status(): string {
    return this.snapshot.status;
  }

  /** The `{ value, context, status }` the runtime would store, through JSON. */
  persisted(): StoredState<TContext> {
    const { value, context, status } = this.snapshot as { value: unknown; context: unknown; status: string };
    const json = JSON.stringify({ value, context, status });
    return JSON.parse(json) as StoredState<TContext>;
  }

  /** Persists to JSON and restores with `resolveState`, as a restarted controller would. */
  roundTrip(): this {
    const stored = this.persisted();
    this.snapshot = restoreSnapshot(this.machine, stored as unknown as PersistedActorState);
    return this;
  }
}

/** The `effect` declarations of `kind`, in order. */
export function effectsOfKind(effects: readonly DeclaredEffect[], kind: string): unknown[] {
  return effects.flatMap((e) => (e.type === 'effect' && e.params.kind === kind ? [e.params.data] : []));
}

/** The `send` declarations whose event type is `eventType`. */
export function sendsOf(effects: readonly DeclaredEffect[], eventType: string): { to: unknown; event: Record<string, unknown> }[] {
  return effects.flatMap((e) => (e.type === 'send' && e.params.event.type === eventType ? [{ to: e.params.to, event: e.params.event }] : []));
}

/** The effect action types in order, e.g. `['send:job.task_started', 'scheduleTimer:attempt']`: a compact shape check. */
export function effectTypes(effects: readonly DeclaredEffect[]): string[] {
  return effects.map((e) => {
    switch (e.type) {
      case 'effect':
        return `effect:${e.params.kind}`;
      case 'send':
        return `send:${e.params.event.type}`;
      default:
        return `${e.type}:${e.params.timerId}`;
    }
  });
}
