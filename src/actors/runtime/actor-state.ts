import { createActor, type AnyStateMachine } from 'xstate';
import type { JsonObject } from '../../shared/json.js';
import type { PersistedActorState } from './actor-kind.js';
import { TransitionPlanner, type TransitionPlannerOptions } from './transition-plans.js';

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
  return stepperOf(machine).restore(state);
}

export interface TransitionOutcome {
  readonly snapshot: AnySnapshot;
  readonly actions: readonly { type: string; params?: unknown }[];
}

type DeclaredAction = TransitionOutcome['actions'][number];
type MachineScope = Parameters<AnyStateMachine['transition']>[2];

/**
 * Steps one machine without an actor: XState's `initialTransition()` /
 * `transition()` minus their cost, through transition plans (see
 * transition-plans.ts). XState's own functions build a throwaway actor per
 * call for an inert scope, and its constructor eagerly computes the machine's
 * initial snapshot without input (for the task machine that throws, and
 * XState catches it) — about a third of every step. One scope per machine,
 * reused, is equivalent here because a step is synchronous and these machines
 * never spawn or invoke children (effects are declared actions, see
 * effects.ts), so nothing lands in its system.
 */
export class MachineStepper {
  readonly planner: TransitionPlanner;
  private readonly scope: MachineScope;
  /** Where the scope's action executor collects the current step's actions. */
  private actions: DeclaredAction[] = [];

  constructor(machine: AnyStateMachine, options?: TransitionPlannerOptions) {
    const self = createActor(machine);
    this.scope = {
      self,
      id: '',
      sessionId: '',
      logger: () => {},
      defer: () => {},
      emit: () => {},
      system: self.system,
      stopChild: () => {},
      actionExecutor: (action) => void this.actions.push(action),
    };
    this.planner = new TransitionPlanner(machine, this.scope, options);
  }

  /** The machine snapshots are built with (the planner's, which records its steps). */
  get machine(): AnyStateMachine {
    return this.planner.machine;
  }

  start(input: unknown): TransitionOutcome {
    return this.planner.start(input, () => {
      const outcome = this.xstateStep((scope) => this.machine.getInitialSnapshot(scope, input));
      // XState builds the first context with its own assign, whose Object.assign
      // leaves V8 a dictionary-mode object (see fast-assign.ts); a spread copy is
      // a fast one again for every later step and for JSON.stringify.
      const context = { ...(outcome.snapshot.context as JsonObject) };
      return { snapshot: { ...outcome.snapshot, context }, actions: outcome.actions };
    });
  }

  step(snapshot: AnySnapshot, event: { type: string }): TransitionOutcome {
    return this.planner.transition(snapshot, event, () => this.xstateStep((scope) => this.machine.transition(snapshot, event, scope)));
  }

  restore(state: PersistedActorState): AnySnapshot {
    return this.machine.resolveState({ value: state.value as never, context: state.context });
  }

  private xstateStep(step: (scope: MachineScope) => AnySnapshot): TransitionOutcome {
    const actions: DeclaredAction[] = [];
    this.actions = actions;
    return { snapshot: step(this.scope), actions };
  }
}

const steppers = new WeakMap<AnyStateMachine, MachineStepper>();

/** The stepper `startActor` / `stepActor` / `restoreSnapshot` use for `machine` (its planner's counts say how steps went). */
export function stepperOf(machine: AnyStateMachine): MachineStepper {
  let stepper = steppers.get(machine);
  if (stepper === undefined) steppers.set(machine, (stepper = new MachineStepper(machine)));
  return stepper;
}

/** Creates an actor's first snapshot from its input; returns entry actions too. */
export function startActor(machine: AnyStateMachine, input: unknown): TransitionOutcome {
  return stepperOf(machine).start(input);
}

/** One pure step: no I/O, no clock; the actions are returned, never executed. */
export function stepActor(machine: AnyStateMachine, snapshot: AnySnapshot, event: { type: string }): TransitionOutcome {
  return stepperOf(machine).step(snapshot, event);
}
