import t from 'tap';
import { and, enqueueActions, raise, setup, type AnyStateMachine } from 'xstate';
import { actorKinds } from '../../src/actors/index.js';
import { MachineStepper, persistSnapshot, type TransitionOutcome } from '../../src/actors/runtime/actor-state.js';
import { effectActions } from '../../src/actors/runtime/effects.js';
import { assign } from '../../src/actors/runtime/fast-assign.js';
import { taskInputFromCreateEvent } from '../../src/actors/task/task.kind.js';
import { taskMachine } from '../../src/actors/task/task.machine.js';

const JOB = 'job_20260312_143000_abc123';
const T0 = 1_700_000_000_000;

type Event = { type: string; at?: number; [key: string]: unknown };

/** What a step produced, as the runtime uses it: persisted state and declared effects. */
function observable(outcome: TransitionOutcome) {
  return { state: persistSnapshot(outcome.snapshot), effects: outcome.actions.map((a) => ({ type: a.type, params: a.params })) };
}

/**
 * Runs `events` from `input` on a planned stepper and on one with plans off,
 * and returns both runs' observable outcomes, step by step.
 */
function runBoth(planned: MachineStepper, machine: AnyStateMachine, input: unknown, events: readonly Event[]) {
  const plain = new MachineStepper(machine, { enabled: false });
  let p = planned.start(input);
  let x = plain.start(input);
  const plannedSteps = [observable(p)];
  const xstateSteps = [observable(x)];
  for (const event of events) {
    p = planned.step(p.snapshot, event);
    x = plain.step(x.snapshot, event);
    plannedSteps.push(observable(p));
    xstateSteps.push(observable(x));
  }
  return { plannedSteps, xstateSteps };
}

function taskInput(index: number, extra: Record<string, unknown> = {}) {
  const input = taskInputFromCreateEvent(`${JOB}.t${index}`, {
    type: 'task.create',
    at: T0,
    jobId: JOB,
    index,
    payload: { item: index },
    maxRetries: 1,
    ...extra,
  });
  if (!input) throw new Error('fixture input rejected');
  return input;
}

t.test('every actor kind is planned', async (t) => {
  for (const kind of Object.values(actorKinds)) {
    t.ok(new MachineStepper(kind.machine).planner.plannable, `${kind.kind}: every guard and action can be recorded`);
  }
});

t.test('task lifecycles: replayed steps equal XState, path by path', async (t) => {
  // Verification off: this test compares with XState itself, so a difference shows as a failed assertion, not a throw.
  const planned = new MachineStepper(taskMachine, { verify: false });
  const A = (i: number, n = 1) => `${JOB}.t${i}.a${n}`;
  const lifecycles: [name: string, input: (i: number) => unknown, events: (i: number) => Event[]][] = [
    [
      'dispatched on creation, succeeds',
      (i) => taskInput(i, { dispatchTo: 'w1' }),
      (i) => [{ type: 'task.succeeded', at: T0 + 9, attemptId: A(i), result: { score: i }, exitCode: 0, startedAt: T0 + 5 }],
    ],
    [
      'queued, dispatched, started, fails with a retry left, retried, times out for good',
      (i) => taskInput(i),
      (i) => [
        { type: 'task.dispatched', at: T0 + 1, attemptId: A(i), workerId: 'w1' },
        { type: 'task.started', at: T0 + 2, attemptId: A(i) },
        { type: 'task.progress', at: T0 + 3, attemptId: A(i), progress: { done: i } },
        { type: 'task.failed', at: T0 + 4, attemptId: A(i), exitCode: 1, failureKind: 'exit', error: `boom ${i}` },
        { type: 'task.retry_due', at: T0 + 2004, attemptId: A(i, 2) },
        { type: 'task.dispatched', at: T0 + 2005, attemptId: A(i, 2), workerId: 'w2' },
        { type: 'task.timeout', at: T0 + 9000, attemptId: A(i, 2) },
      ],
    ],
    [
      'blocked, released, cancelled while queued; then a stale result',
      (i) => taskInput(i, { blocked: true }),
      (i) => [
        { type: 'task.release', at: T0 + 1 },
        { type: 'task.cancel', at: T0 + 2, reason: 'user' },
        { type: 'task.succeeded', at: T0 + 3, attemptId: A(i), result: {}, exitCode: 0 },
      ],
    ],
    [
      'an event for another attempt is ignored',
      (i) => taskInput(i, { dispatchTo: 'w1' }),
      (i) => [
        { type: 'task.started', at: T0 + 2, attemptId: `${A(i)}-other` },
        { type: 'task.started', at: T0 + 3, attemptId: A(i) },
        { type: 'task.succeeded', at: T0 + 4, attemptId: A(i), result: {}, exitCode: 0 },
      ],
    ],
  ];
  for (const [name, input, events] of lifecycles) {
    // Three tasks per lifecycle: the first records the plans, the others replay them with other ids and values.
    for (let i = 0; i < 3; i++) {
      const { plannedSteps, xstateSteps } = runBoth(planned, taskMachine, input(i), events(i));
      t.same(plannedSteps, xstateSteps, `${name} (task ${i})`);
    }
  }
  t.ok(planned.planner.counts.replayed > planned.planner.counts.recorded, `most steps replayed: ${JSON.stringify(planned.planner.counts)}`);
});

t.test('one state and event, two guard results: two plans, each replayed where it applies', async (t) => {
  const planned = new MachineStepper(taskMachine, { verify: false });
  // task.timeout in `dispatched`: with a retry left it backs off, without one it ends timed_out.
  const timeout = (i: number, maxRetries: number) =>
    runBoth(planned, taskMachine, taskInput(i, { dispatchTo: 'w1', maxRetries }), [{ type: 'task.timeout', at: T0 + 60_000, attemptId: `${JOB}.t${i}.a1` }]);
  for (let i = 0; i < 4; i++) {
    const { plannedSteps, xstateSteps } = timeout(i, i % 2);
    t.same(plannedSteps, xstateSteps);
    t.same(plannedSteps[1]?.state.value, i % 2 === 1 ? { pending: 'backoff' } : 'timed_out');
  }
  t.equal(planned.planner.counts.recorded, 3, 'creation and the two timeout paths were recorded once each');
});

const counter = setup({
  types: { context: {} as { n: number; log: string[] }, events: {} as { type: 'bump'; by: number } | { type: 'finish' } },
  actions: {
    ...effectActions,
    bump: assign(({ context, event }) => ({ n: context.n + (event.type === 'bump' ? event.by : 0) })),
    announce: enqueueActions(({ context, enqueue }) => {
      enqueue({ type: 'effect', params: { kind: 'counter.bumped', data: { n: context.n } } });
    }),
  },
  guards: { small: ({ context }) => context.n < 10 },
});

t.test('machines plans cannot record run on XState', async (t) => {
  const inlineGuard = counter.createMachine({
    context: { n: 0, log: [] },
    on: { bump: { guard: ({ context }) => context.n < 10, actions: ['bump', 'announce'] } },
  });
  const withRaise = counter.createMachine({
    context: { n: 0, log: [] },
    on: { bump: { actions: ['bump', raise({ type: 'finish' })] }, finish: { actions: 'announce' } },
  });
  const plannable = counter.createMachine({
    context: { n: 0, log: [] },
    on: { bump: { guard: and(['small']), actions: ['bump', 'announce'] } },
  });
  for (const [name, machine, expected] of [
    ['an inline guard', inlineGuard, false],
    ['a raise', withRaise, false],
    ['named guards and actions', plannable, true],
  ] as const) {
    const stepper = new MachineStepper(machine, { verify: false });
    t.equal(stepper.planner.plannable, expected, `${name}: plannable ${expected}`);
    const events = [3, 4, 5, 6].map((by) => ({ type: 'bump', by }));
    const { plannedSteps, xstateSteps } = runBoth(stepper, machine, undefined, events);
    t.same(plannedSteps, xstateSteps, `${name}: same outcomes`);
    if (!expected) t.equal(stepper.planner.counts.replayed, 0, `${name}: nothing replayed`);
    else t.ok(stepper.planner.counts.replayed > 0, `${name}: replayed`);
  }
});

t.test('a path through an internal event (a done event) is left to XState', async (t) => {
  const machine = counter.createMachine({
    context: { n: 0, log: [] },
    initial: 'counting',
    states: {
      counting: {
        initial: 'open',
        states: { open: { on: { finish: 'closed' } }, closed: { type: 'final' } },
        on: { bump: { actions: 'bump' } },
        // The guard sees `xstate.done.state.*`, not the step's event: a replay could not give it that event.
        onDone: { guard: 'small', target: 'done', actions: 'announce' },
      },
      done: { type: 'final' },
    },
  });
  const stepper = new MachineStepper(machine, { verify: false });
  t.ok(stepper.planner.plannable);
  for (let i = 0; i < 3; i++) {
    const { plannedSteps, xstateSteps } = runBoth(stepper, machine, undefined, [{ type: 'bump', by: i }, { type: 'finish' }]);
    t.same(plannedSteps, xstateSteps);
    t.equal(plannedSteps[2]?.state.status, 'done');
  }
  t.ok(stepper.planner.counts.onXState >= 2, `the finish step ran on XState after its first recording: ${JSON.stringify(stepper.planner.counts)}`);
});

t.test('an impure action: a plan is not kept, or verification throws', async (t) => {
  // Impure actions (they read a counter outside the machine) break the premise of plans: the same step gives different results.
  let calls = 0;
  let drifting = false;
  const impure = setup({
    types: { context: {} as { seen: number }, events: {} as { type: 'tick' } | { type: 'tock' } },
    actions: {
      see: assign(() => ({ seen: ++calls })),
      seeOnceDrifting: assign(() => ({ seen: drifting ? ++calls : 0 })),
    },
  }).createMachine({ context: { seen: 0 }, on: { tick: { actions: 'see' }, tock: { actions: 'seeOnceDrifting' } } });

  const stepper = new MachineStepper(impure, { verify: true });
  let snapshot = stepper.start(undefined).snapshot;
  // Impure from the start: the replay that checks a fresh recording already differs, so the path stays on XState.
  for (let i = 0; i < 3; i++) snapshot = stepper.step(snapshot, { type: 'tick' }).snapshot;
  t.equal(stepper.planner.counts.recorded, 2, 'creation and tick recorded');
  t.equal(stepper.planner.counts.replayed, 0);
  t.equal(stepper.planner.counts.onXState, 2, 'later ticks on XState');

  // Impure only later: recorded and checked while it behaved; verification then catches the replay differing from XState.
  snapshot = stepper.step(snapshot, { type: 'tock' }).snapshot;
  drifting = true;
  t.throws(() => stepper.step(snapshot, { type: 'tock' }), /differs from XState/);
});

t.test('plans off: every step on XState', async (t) => {
  const off = new MachineStepper(taskMachine, { enabled: false });
  const created = off.start(taskInput(1, { dispatchTo: 'w1' }));
  const succeeded: Event = { type: 'task.succeeded', at: T0 + 9, attemptId: `${JOB}.t1.a1`, result: {}, exitCode: 0 };
  off.step(created.snapshot, succeeded);
  t.same(off.planner.counts, { replayed: 0, recorded: 0, onXState: 2 });
});
