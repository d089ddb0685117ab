import type { AnyStateMachine } from 'xstate';
import { isFastAssign } from './fast-assign.js';

/**
 * Which machines transition plans (`transition-plans.ts`) may replay: those in
 * which every guard XState could evaluate and every action it could run is
 * one a recording sees. Anything else runs on XState, step by step.
 */

/** What an `enqueueActions` action calls with its helpers. */
export type Collect = (args: object, params: unknown) => void;

/** A builtin XState action (assign, enqueueActions, raise, ...) rather than a named implementation. */
export function isBuiltin(action: unknown): boolean {
  return typeof action === 'function' && 'resolve' in action;
}

export function isEnqueueActions(action: unknown): action is { collect: Collect } {
  return typeof action === 'function' && (action as { type?: unknown }).type === 'xstate.enqueueActions' && 'collect' in action;
}

/** Whether every guard and action the machine could evaluate is one a plan records (see transition-plans.ts). */
export function machineIsPlannable(machine: AnyStateMachine, implementations: { guards: Record<string, unknown>; actions: Record<string, unknown> }): boolean {
  const guardOk = (guard: unknown): boolean => {
    if (guard === undefined) return true;
    if (typeof guard === 'string') return namedGuardOk(guard);
    if (typeof guard === 'function' && 'check' in guard && Array.isArray((guard as { guards?: unknown }).guards)) {
      return (guard as unknown as { guards: unknown[] }).guards.every(guardOk);
    }
    // `{ type, params }` guards and inline functions are not recorded reliably.
    return false;
  };
  const namedGuardOk = (name: string): boolean => {
    const implementation = implementations.guards[name];
    if (typeof implementation !== 'function') return false;
    return 'check' in implementation ? guardOk(implementation) : true;
  };
  const actionOk = (action: unknown): boolean => {
    if (typeof action !== 'string') return false;
    const implementation = implementations.actions[action];
    return isFastAssign(implementation) || isEnqueueActions(implementation);
  };
  const nodeOk = (node: StateNodeShape): boolean => {
    if (node.type === 'history' || node.invoke.length > 0 || node.output !== undefined) return false;
    if (!node.entry.every(actionOk) || !node.exit.every(actionOk)) return false;
    const transitions = [...node.transitions.values()].flat().concat(node.always ?? []);
    if (!transitions.every((t) => guardOk(t.guard) && t.actions.every(actionOk))) return false;
    return Object.values(node.states).every(nodeOk);
  };
  return nodeOk(machine.root as unknown as StateNodeShape);
}

/** The parts of XState's StateNode the plannability check reads. */
interface StateNodeShape {
  readonly type: string;
  readonly invoke: readonly unknown[];
  readonly output: unknown;
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly transitions: ReadonlyMap<string, readonly { guard: unknown; actions: readonly unknown[] }[]>;
  readonly always?: readonly { guard: unknown; actions: readonly unknown[] }[];
  readonly states: Record<string, StateNodeShape>;
}
