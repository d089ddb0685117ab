import { isDeepStrictEqual } from 'node:util';
import type { AnyStateMachine } from 'xstate';
import { isFastAssign } from './fast-assign.js';
import { isBuiltin, isEnqueueActions, machineIsPlannable, type Collect } from './plannable-machines.js';

/**
 * Transition plans: XState's `transition()` for our machines, memoised per
 * path.
 *
 * Why: a machine step spends most of its time and garbage (Sets, arrays and
 * snapshot copies: about half of what a controller allocates per task) on
 * working out *which* transitions fire and which exit and entry actions run,
 * yet for a given state value and event type that answer only changes with
 * the guards' results. A plan records, from one real XState step, the guards
 * XState evaluated (with their results) and the actions it ran, in order; a
 * later step from the same state value with the same event type replays them:
 * it re-evaluates each guard on the live context and event (a different
 * result means a different path: the next plan, or XState) and runs each
 * action's own implementation, so contexts and effects are computed fresh,
 * by the machine's code; only the path is remembered.
 *
 * Equivalence rests on three checks:
 * - A machine is planned only if every guard XState could evaluate and every
 *   action it could run is named and recorded: named guards (or `and`/`or`/
 *   `not` of them), actions that are our `assign` or `enqueueActions` whose
 *   enqueued items are declared effects. No history, delays, invocations or
 *   output. Anything else and the machine simply runs on XState.
 * - A recorded plan is kept only if replaying it on the very step it came from
 *   gives XState's value, context, status and effects; and only when every
 *   guard and action saw the step's own event (internal events, such as
 *   `done` events of compound states, are left to XState).
 * - With COMPUTALOT_VERIFY_TRANSITION_PLANS=1 (the test suite sets it) every
 *   replayed step is also run on XState and compared; a difference throws.
 *
 * COMPUTALOT_TRANSITION_PLANS=0 turns plans off (every step on XState): for
 * measuring what they save, or as a way out should one ever misbehave.
 */

type AnySnapshot = ReturnType<AnyStateMachine['resolveState']>;
type MachineScope = Parameters<AnyStateMachine['transition']>[2];

/** What a step produced: XState's snapshot shape and the declared actions, in order. */
export interface PlannedOutcome {
  readonly snapshot: AnySnapshot;
  readonly actions: readonly { type: string; params?: unknown }[];
}

type GuardFunction = (args: { context: unknown; event: unknown }, params: unknown) => unknown;
type AssignResolve = (scope: unknown, snapshot: { context: object }, args: object, params: unknown, action: unknown) => [{ context: object }];

type Op =
  | { readonly kind: 'guard'; readonly check: GuardFunction; readonly result: boolean }
  | { readonly kind: 'assign'; readonly action: { resolve: AssignResolve } }
  | { readonly kind: 'enqueue'; readonly collect: Collect };

interface Plan {
  readonly ops: readonly Op[];
  /** XState's snapshot at the end of the recorded step; replays share all but its context. */
  readonly template: AnySnapshot;
}

interface PlanSet {
  readonly plans: Plan[];
  /** False once a path under this key could not be planned: the key runs on XState. */
  replayable: boolean;
}

/** A step being recorded: what XState evaluated and ran, and whether all of it can be replayed. */
interface Recording {
  readonly ops: Op[];
  /** The event every guard and action must see (init steps: any `xstate.init` event). */
  readonly event: { type: string } | 'init';
  replayable: boolean;
}

/** Distinct paths kept per state value and event type; beyond it, XState. */
const MAX_PLANS_PER_KEY = 8;
const INIT_KEY = '\u0000init';

export interface TransitionPlannerOptions {
  /** Plan at all (default: unless COMPUTALOT_TRANSITION_PLANS=0). */
  readonly enabled?: boolean;
  /** Check every replayed step against XState (default: COMPUTALOT_VERIFY_TRANSITION_PLANS=1). */
  readonly verify?: boolean;
}

/** How a planner's steps went: replayed from a plan, recorded (run on XState), or run on XState unrecorded. */
export interface TransitionPlanCounts {
  replayed: number;
  recorded: number;
  onXState: number;
}

let recording: Recording | null = null;

/** A replay met something plans cannot reproduce (an enqueue helper, an unknown effect): the key runs on XState from then on. */
class UnplannableStep extends Error {}

/** A replayed action threw: XState runs the step (and decides what the error does to the actor). */
class ReplayThrew extends Error {}

/**
 * A machine's planner: the machine with recording guards and actions
 * (`provide`d; they only record while a step is being recorded), and its plans.
 */
export class TransitionPlanner {
  /** The machine every snapshot of this kind must be built and stepped with. */
  readonly machine: AnyStateMachine;
  /** False when the machine uses something plans cannot replay: every step runs on XState. */
  readonly plannable: boolean;
  private readonly plans = new Map<string, PlanSet>();
  private readonly valueKeys = new WeakMap<object, string>();
  readonly counts: TransitionPlanCounts = { replayed: 0, recorded: 0, onXState: 0 };
  private readonly effectTypes: ReadonlySet<string>;
  private readonly verify: boolean;

  constructor(
    original: AnyStateMachine,
    private readonly scope: MachineScope,
    options: TransitionPlannerOptions = {},
  ) {
    const implementations = original.implementations as { guards: Record<string, unknown>; actions: Record<string, unknown> };
    this.machine = original.provide({
      guards: Object.fromEntries(Object.entries(implementations.guards).map(([name, guard]) => [name, recordingGuard(guard)])),
      actions: Object.fromEntries(Object.entries(implementations.actions).map(([name, action]) => [name, recordingAction(action)])),
    } as never);
    this.effectTypes = new Set(Object.entries(implementations.actions).flatMap(([name, action]) => (isBuiltin(action) ? [] : [name])));
    const enabled = options.enabled ?? process.env.COMPUTALOT_TRANSITION_PLANS !== '0';
    this.plannable = enabled && machineIsPlannable(original, implementations);
    this.verify = options.verify ?? process.env.COMPUTALOT_VERIFY_TRANSITION_PLANS === '1';
  }

  /** `getInitialSnapshot(scope, input)`, planned; `xstate` runs the real step. */
  start(input: unknown, xstate: () => PlannedOutcome): PlannedOutcome {
    if (!this.plannable) return this.onXState(xstate);
    const initEvent: { type: string; input: unknown } = { type: 'xstate.init', input };
    return this.step(INIT_KEY, undefined, initEvent, 'init', xstate);
  }

  /** `transition(snapshot, event, scope)`, planned. */
  transition(snapshot: AnySnapshot, event: { type: string }, xstate: () => PlannedOutcome): PlannedOutcome {
    // A snapshot built with another machine object (the unplanned original) resolves actions through that machine: nothing would be recorded.
    if (!this.plannable || snapshot.status !== 'active' || snapshot.machine !== this.machine) return this.onXState(xstate);
    return this.step(`${this.valueKey(snapshot.value)}\u0000${event.type}`, snapshot.context as object, event, event, xstate);
  }

  private step(key: string, context: object | undefined, event: { type: string }, expected: Recording['event'], xstate: () => PlannedOutcome): PlannedOutcome {
    const set = this.plans.get(key);
    if (set !== undefined && !set.replayable) return this.onXState(xstate);
    if (set !== undefined) {
      try {
        for (const plan of set.plans) {
          const replayed = this.replay(plan, context, event);
          if (replayed === null) continue;
          if (this.verify) assertSameOutcome(replayed, xstate(), key);
          this.counts.replayed++;
          return replayed;
        }
      } catch (error) {
        if (error instanceof UnplannableStep) set.replayable = false;
        else if (!(error instanceof ReplayThrew)) throw error;
        return this.onXState(xstate);
      }
      if (set.plans.length >= MAX_PLANS_PER_KEY) return this.onXState(xstate);
    }
    this.counts.recorded++;
    return this.record(key, context, event, expected, xstate);
  }

  private onXState(xstate: () => PlannedOutcome): PlannedOutcome {
    this.counts.onXState++;
    return xstate();
  }

  /** Runs XState while recording; keeps the path as a plan if replaying it reproduces the step. */
  private record(key: string, context: object | undefined, event: { type: string }, expected: Recording['event'], xstate: () => PlannedOutcome): PlannedOutcome {
    const current: Recording = { ops: [], event: expected, replayable: true };
    recording = current;
    let outcome: PlannedOutcome;
    try {
      outcome = xstate();
    } finally {
      recording = null;
    }
    const set = this.plans.get(key) ?? { plans: [], replayable: true };
    this.plans.set(key, set);
    const plan: Plan = { ops: current.ops, template: outcome.snapshot };
    if (current.replayable && isShareable(outcome.snapshot) && this.reproduces(plan, context, event, outcome)) {
      set.plans.push(plan);
      return outcome;
    }
    set.replayable = false;
    return outcome;
  }

  private reproduces(plan: Plan, context: object | undefined, event: { type: string }, outcome: PlannedOutcome): boolean {
    try {
      const replayed = this.replay(plan, context, event);
      return replayed !== null && sameOutcome(replayed, outcome);
    } catch (error) {
      if (error instanceof UnplannableStep || error instanceof ReplayThrew) return false;
      throw error;
    }
  }

  /**
   * The plan's outcome for this context and event, or null where a guard takes
   * another path. Throws UnplannableStep or ReplayThrew where it cannot run.
   */
  private replay(plan: Plan, initialContext: object | undefined, event: { type: string }): PlannedOutcome | null {
    let context = initialContext ?? this.initialContext(event as { type: string; input?: unknown });
    const actions: { type: string; params?: unknown }[] = [];
    const { self, system } = this.scope as unknown as { self: unknown; system: unknown };
    try {
      for (const op of plan.ops) {
        if (op.kind === 'guard') {
          if (Boolean(op.check({ context, event }, undefined)) !== op.result) return null;
        } else if (op.kind === 'assign') {
          context = op.action.resolve(this.scope, { context }, { context, event, self, system }, undefined, op.action)[0].context;
        } else {
          for (const item of collectEnqueued(op.collect, { context, event, self, system })) {
            if (!this.effectTypes.has(item.type)) throw new UnplannableStep(`enqueued ${item.type}`);
            const params = typeof item.params === 'function' ? (item.params as (a: object) => unknown)({ context, event }) : item.params;
            actions.push('params' in item ? { type: item.type, params } : { type: item.type });
          }
        }
      }
    } catch (error) {
      if (error instanceof UnplannableStep) throw error;
      throw new ReplayThrew('a replayed guard or action threw', { cause: error });
    }
    return { snapshot: { ...plan.template, context } as AnySnapshot, actions };
  }

  /** What XState's first assignment makes of the machine's `context` factory. */
  private initialContext(event: { input?: unknown }): object {
    const factory = (this.machine.config as { context?: unknown }).context;
    const { self } = this.scope as unknown as { self: unknown };
    const made = typeof factory === 'function' ? (factory as (a: object) => object)({ input: event.input, self, spawn: noSpawn }) : (factory ?? {});
    return { ...made };
  }

  private valueKey(value: unknown): string {
    if (typeof value === 'string') return value;
    const object = value as object;
    let key = this.valueKeys.get(object);
    if (key === undefined) this.valueKeys.set(object, (key = JSON.stringify(value)));
    return key;
  }
}

function noSpawn(): never {
  throw new UnplannableStep('spawn');
}

function recordingGuard(guard: unknown): unknown {
  if (typeof guard !== 'function' || 'check' in guard) return guard;
  const check = guard as GuardFunction;
  return (args: { context: unknown; event: unknown }, params: unknown) => {
    const result = check(args, params);
    const current = recording;
    if (current !== null) {
      if (params !== undefined || !seesStepEvent(current, args.event)) current.replayable = false;
      current.ops.push({ kind: 'guard', check, result: Boolean(result) });
    }
    return result;
  };
}

function recordingAction(action: unknown): unknown {
  if (!isBuiltin(action)) return action;
  const builtin = action as { resolve: (...args: unknown[]) => unknown };
  const op: Op | null = isFastAssign(builtin)
    ? { kind: 'assign', action: builtin as unknown as { resolve: AssignResolve } }
    : isEnqueueActions(builtin)
      ? { kind: 'enqueue', collect: builtin.collect }
      : null;
  const wrapper = Object.assign(function recorded(this: unknown, ...args: unknown[]) {
    return (builtin as unknown as (...a: unknown[]) => unknown).apply(this, args);
  }, builtin);
  wrapper.resolve = (...args: unknown[]) => {
    const current = recording;
    if (current !== null) {
      const [, , actionArgs, params] = args as [unknown, unknown, { event: unknown }, unknown];
      if (op === null || params !== undefined || !seesStepEvent(current, actionArgs.event)) current.replayable = false;
      if (op !== null) current.ops.push(op);
    }
    return builtin.resolve(...args);
  };
  return wrapper;
}

function seesStepEvent(current: Recording, event: unknown): boolean {
  return current.event === 'init' ? (event as { type?: unknown }).type === 'xstate.init' : event === current.event;
}

/** One reusable `enqueue` for replays: plain items only (a step is synchronous, so one target array at a time). */
let enqueued: { type: string; params?: unknown }[] = [];
const unsupported = (): never => {
  throw new UnplannableStep('enqueue helper');
};
const replayEnqueue = Object.assign((item: unknown) => void enqueued.push(item as { type: string; params?: unknown }), {
  assign: unsupported,
  cancel: unsupported,
  raise: unsupported,
  sendTo: unsupported,
  sendParent: unsupported,
  spawnChild: unsupported,
  stopChild: unsupported,
  emit: unsupported,
});

function collectEnqueued(collect: Collect, args: { context: object; event: unknown; self: unknown; system: unknown }): { type: string; params?: unknown }[] {
  enqueued = [];
  collect({ ...args, enqueue: replayEnqueue, check: unsupported }, undefined);
  for (const item of enqueued) {
    if (item === null || typeof item !== 'object' || typeof item.type !== 'string') throw new UnplannableStep('enqueued item');
  }
  return enqueued;
}

/** A snapshot a replay can share: only steps that end active or done, with no output or error. */
function isShareable(snapshot: AnySnapshot): boolean {
  const { status, output, error } = snapshot as { status: string; output?: unknown; error?: unknown };
  return (status === 'active' || status === 'done') && output === undefined && error === undefined;
}

function sameOutcome(a: PlannedOutcome, b: PlannedOutcome): boolean {
  return (
    a.snapshot.status === b.snapshot.status &&
    isDeepStrictEqual(a.snapshot.value, b.snapshot.value) &&
    isDeepStrictEqual(a.snapshot.context, b.snapshot.context) &&
    a.actions.length === b.actions.length &&
    a.actions.every((action, i) => action.type === b.actions[i]?.type && isDeepStrictEqual(action.params, b.actions[i]?.params))
  );
}

function assertSameOutcome(replayed: PlannedOutcome, actual: PlannedOutcome, key: string): void {
  if (sameOutcome(replayed, actual)) return;
  const show = (o: PlannedOutcome) => {
    const { value, status, context } = o.snapshot as { value: unknown; status: string; context: unknown };
    return JSON.stringify({ value, status, context, actions: o.actions.map((a) => ({ type: a.type, params: a.params })) });
  };
  throw new Error(`transition plan for ${JSON.stringify(key)} differs from XState:\nreplayed ${show(replayed)}\nxstate   ${show(actual)}`);
}
