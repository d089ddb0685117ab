import { createActor, type AnyStateMachine } from 'xstate';
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

type DeclaredAction = TransitionOutcome['actions'][number];
type MachineScope = Parameters<AnyStateMachine['transition']>[2];

/** An inert actor scope whose action executor collects into `actions`. */
interface InertScope {
  readonly scope: MachineScope;
  actions: DeclaredAction[];
}

const inertScopes = new WeakMap<AnyStateMachine, InertScope>();

/**
 * What XState's `initialTransition()` / `transition()` do, minus their cost:
 * they build a throwaway actor per call for an inert scope, and its
 * constructor eagerly computes the machine's initial snapshot without input
 * (for the task machine that throws, and XState catches it) — about a third
 * of every step. One scope per machine, reused, is equivalent here because
 * the step is synchronous and these machines never spawn or invoke children
 * (effects are declared actions, see effects.ts), so nothing lands in its system.
 */
function pureStep(machine: AnyStateMachine, step: (scope: MachineScope) => AnySnapshot): TransitionOutcome {
  let inert = inertScopes.get(machine);
  if (inert === undefined) {
    const self = createActor(machine);
    const created: InertScope = {
      actions: [],
      scope: {
        self,
        id: '',
        sessionId: '',
        logger: () => {},
        defer: () => {},
        emit: () => {},
        system: self.system,
        stopChild: () => {},
        actionExecutor: (action) => void created.actions.push(action),
      },
    };
    inertScopes.set(machine, (inert = created));
  }
  const actions: DeclaredAction[] = [];
  inert.actions = actions;
  return { snapshot: step(inert.scope), actions };
}

/** Creates an actor's first snapshot from its input; returns entry actions too. */
export function startActor(machine: AnyStateMachine, input: unknown): TransitionOutcome {
  const outcome = pureStep(machine, (scope) => machine.getInitialSnapshot(scope, input));
  // XState builds the first context with its own assign, whose Object.assign
  // leaves V8 a dictionary-mode object (see fast-assign.ts); a spread copy is
  // a fast one again for every later step and for JSON.stringify.
  const context = { ...(outcome.snapshot.context as JsonObject) };
  return { snapshot: { ...outcome.snapshot, context }, actions: outcome.actions };
}

/** One pure step: no I/O, no clock; the actions are returned, never executed. */
export function stepActor(machine: AnyStateMachine, snapshot: AnySnapshot, event: { type: string }): TransitionOutcome {
  return pureStep(machine, (scope) => machine.transition(snapshot, event, scope));
}
