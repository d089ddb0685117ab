import { initialTransition, transition, type AnyStateMachine } from 'xstate';
import type { JsonObject } from '../../shared/json.js';
import type { PersistedActorState } from './actor-kind.js';

type AnySnapshot = ReturnType<AnyStateMachine['resolveState']>;

/** The JSON the store keeps for an actor: value, context and status — nothing live. */
export function persistSnapshot(snapshot: AnySnapshot): PersistedActorState {
  return {
    value: snapshot.value as PersistedActorState['value'],
    context: snapshot.context as JsonObject,
    status: snapshot.status,
  };
}

/**
 * Rebuilds a snapshot from its persisted form. `resolveState` recomputes the
 * active state nodes from `value` and does not run entry actions again,
 * which is what a restore must do (they ran when the state was entered).
 */
export function restoreSnapshot(machine: AnyStateMachine, state: PersistedActorState): AnySnapshot {
  return machine.resolveState({ value: state.value as never, context: state.context });
}

export interface TransitionOutcome {
  readonly snapshot: AnySnapshot;
  readonly actions: readonly { type: string; params?: unknown }[];
}

/** Creates an actor's first snapshot from its input; returns entry actions too. */
export function startActor(machine: AnyStateMachine, input: unknown): TransitionOutcome {
  const [snapshot, actions] = initialTransition(machine, input);
  return { snapshot, actions };
}

/** One pure step: no I/O, no clock; the actions are returned, never executed. */
export function stepActor(machine: AnyStateMachine, snapshot: AnySnapshot, event: { type: string }): TransitionOutcome {
  const [next, actions] = transition(machine, snapshot, event as never);
  return { snapshot: next, actions };
}
