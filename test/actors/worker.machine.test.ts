import t from 'tap';
import type { WorkerInput } from '../../src/actors/worker/worker.events.js';
import { normaliseCapacity, workerInputFromCreateEvent, workerKind, workerReadModel } from '../../src/actors/worker/worker.kind.js';
import type { WorkerContext } from '../../src/actors/worker/worker.logic.js';
import { workerMachine } from '../../src/actors/worker/worker.machine.js';
import { MachineDriver, effectTypes, effectsOfKind, sendsOf } from '../helpers/machine-harness.js';

const W = 'wkr_01';
const T0 = 1_700_000_000_000;
const HB = 5000 * 3; // default interval × missed allowed

function input(capacity: Record<string, unknown> = { cpu: 4, memory_mb: 8192, storage_gb: 100, gpus: [{ memory_mb: 24_000 }, { memory_mb: 80_000 }], sandboxes: ['bwrap'] }): WorkerInput {
  const base = workerInputFromCreateEvent(W, { type: 'worker.register', at: T0, controllerId: 'ctl_a', capacity: capacity as never, agentVersion: '0.1.0' });
  if (!base) throw new Error('fixture input rejected');
  return base;
}

function worker(capacity?: Record<string, unknown>) {
  return new MachineDriver<WorkerContext>(workerMachine, input(capacity));
}

function readyWorker(capacity?: Record<string, unknown>) {
  const d = worker(capacity);
  d.send({ type: 'worker.registered', at: T0 + 100 });
  return d;
}

function assign(d: MachineDriver<WorkerContext>, n: number, requirements: Record<string, unknown> = { cpu: 1, memory_mb: 1024 }) {
  return d.send({ type: 'worker.allocations_changed', at: T0 + 1000 + n, assigned: [{ taskId: `job_x.t${n}`, attemptId: `job_x.t${n}.a1`, requirements }], released: [] });
}

t.test('registering', async (t) => {
  t.test('worker.register creates it and arms the heartbeat timer', async (t) => {
    const d = worker();
    t.equal(d.value, 'registering');
    t.equal(d.context.heartbeatDeadline, T0 + HB);
    t.same(d.effects, [{ type: 'scheduleTimer', params: { timerId: 'heartbeat', dueAt: T0 + HB, event: { type: 'worker.heartbeat_expired', deadline: T0 + HB } } }]);
    t.same(d.context.capacity, {
      cpu: 4,
      memoryMb: 8192,
      storageGb: 100,
      gpus: [{ index: 0, memoryMb: 24_000 }, { index: 1, memoryMb: 80_000 }],
      profile: 'gpu',
      sandboxes: ['bwrap'],
      runtimes: [],
    });
  });

  t.test('only worker.register creates', async (t) => {
    t.equal(workerKind.inputFromCreateEvent(W, { type: 'worker.heartbeat', at: T0 }), undefined);
    t.match(workerInputFromCreateEvent(W, { type: 'worker.register', at: T0, capacity: {} }), {
      heartbeatIntervalMs: 5000,
      missedHeartbeatsAllowed: 3,
      controllerId: null,
      capacity: { cpu: 0, gpus: [], profile: 'cpu' },
    });
    t.equal(workerKind.routingKey(W), W);
    t.same(normaliseCapacity({ cpu: 2, memoryMb: 512, gpus: [{ index: 3, memoryMb: 10 }] }).gpus, [{ index: 3, memoryMb: 10 }]);
  });

  t.test('worker.registered → ready, capacity offered', async (t) => {
    const d = readyWorker();
    t.equal(d.value, 'ready');
    t.equal(d.context.readyAt, T0 + 100);
    t.same(effectsOfKind(d.effects, 'worker.capacity_available'), [
      { workerId: W, controllerId: 'ctl_a', profile: 'gpu', free: { cpu: 4, memoryMb: 8192, storageGb: 100, gpus: [{ index: 0, memoryMb: 24_000 }, { index: 1, memoryMb: 80_000 }] } },
    ]);
  });

  t.test('a node too small for the minimal task goes straight to busy, offering nothing', async (t) => {
    const d = readyWorker({ cpu: 0.5, memory_mb: 4096 });
    t.equal(d.value, 'busy');
    t.same(d.effects, []);
  });

  t.test('an agent that never confirms is lost when the timer fires', async (t) => {
    const d = worker();
    d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB });
    t.equal(d.value, 'lost');
  });

  t.test('heartbeats while registering keep it alive; deregister ends it', async (t) => {
    const d = worker();
    d.send({ type: 'worker.heartbeat', at: T0 + 3000 });
    t.equal(d.value, 'registering');
    t.same(effectTypes(d.effects), ['scheduleTimer:heartbeat']);
    t.same(d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB }), [], 'the superseded deadline');
    d.send({ type: 'worker.deregister', at: T0 + 4000, reason: 'agent exited' });
    t.equal(d.value, 'gone');
    t.same(effectsOfKind(d.effects, 'worker.gone'), [{ workerId: W, reason: 'agent exited' }]);
  });

  t.test('drain while registering → gone (nothing runs there)', async (t) => {
    const d = worker();
    d.send({ type: 'worker.drain', at: T0 + 10, reason: 'maintenance' });
    t.equal(d.value, 'gone');
    t.same(effectTypes(d.effects), ['effect:worker.drain', 'cancelTimer:heartbeat', 'effect:worker.gone']);
  });
});

t.test('ready ↔ busy', async (t) => {
  t.test('assignments allocate cpu/memory/storage and whole GPUs (smallest that fits)', async (t) => {
    const d = readyWorker();
    assign(d, 1, { cpu: 1, memory_mb: 2048, gpu_count: 1, gpu_memory_mb: 16_000 });
    t.equal(d.value, 'ready');
    t.same(d.effects, [], 'assignments declare nothing');
    t.match(d.context.allocations, [{ attemptId: 'job_x.t1.a1', taskId: 'job_x.t1', cpu: 1, memoryMb: 2048, gpuIndexes: [0] }]);
    assign(d, 2, { cpu: 1, memory_mb: 1024, gpu_count: 1, gpu_memory_mb: 40_000 });
    t.same(d.context.allocations[1]?.gpuIndexes, [1]);
    assign(d, 2, { cpu: 1, memory_mb: 1024 });
    t.equal(d.context.allocations.length, 2, 'idempotent per attempt id');
  });

  t.test('ready → busy when no room for a minimal task; a release brings it back', async (t) => {
    const d = readyWorker();
    for (let n = 0; n < 3; n++) assign(d, n);
    t.equal(d.value, 'ready', '1 CPU left');
    assign(d, 3);
    t.equal(d.value, 'busy');
    d.send({ type: 'worker.task_released', at: T0 + 5000, attemptId: 'job_x.t0.a1' });
    t.equal(d.value, 'ready');
    t.match(effectsOfKind(d.effects, 'worker.capacity_available'), [{ free: { cpu: 1, memoryMb: 8192 - 3 * 1024 } }]);
  });

  t.test('memory runs out before cpu → busy', async (t) => {
    const d = readyWorker({ cpu: 16, memory_mb: 1000 });
    assign(d, 0, { cpu: 1, memory_mb: 800 });
    t.equal(d.value, 'busy');
  });

  t.test('a release while ready frees the allocation and declares nothing (the scheduler placed work on the agent\'s report)', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    d.send({ type: 'worker.task_released', at: T0 + 5000, attemptId: 'job_x.t0.a1' });
    t.equal(d.value, 'ready');
    t.same(d.effects, []);
    t.same(d.context.allocations, []);
  });

  t.test('one batch assigns, then releases: what the agent\'s controller sent and heard in one turn', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    d.send({
      type: 'worker.allocations_changed',
      at: T0 + 2000,
      assigned: [
        { taskId: 'job_x.t1', attemptId: 'job_x.t1.a1', requirements: { cpu: 1, memory_mb: 1024 } },
        { taskId: 'job_x.t2', attemptId: 'job_x.t2.a1', requirements: { cpu: 1, memory_mb: 1024 } },
        { taskId: 'job_x.t1', attemptId: 'job_x.t1.a1', requirements: { cpu: 1, memory_mb: 1024 } },
      ],
      released: ['job_x.t0.a1', 'job_x.t2.a1', 'job_y.t9.a1'],
    });
    t.same(
      d.context.allocations.map((a) => a.attemptId),
      ['job_x.t1.a1'],
      'assigned first, so an attempt that started and ended within the turn leaves nothing; duplicates and unknowns change nothing',
    );
    t.equal(d.value, 'ready');
    t.same(d.effects, []);
  });

  t.test('a heartbeat naming what the agent runs drops older allocations it no longer runs', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    assign(d, 1);
    d.send({ type: 'worker.heartbeat', at: T0 + 1000 + HB / 3 - 1, running: ['job_x.t1.a1'] });
    t.equal(d.context.allocations.length, 2, 'younger than one heartbeat interval: kept (its dispatch may be in flight)');
    d.send({ type: 'worker.heartbeat', at: T0 + 1000 + HB, running: ['job_x.t1.a1'] });
    t.same(
      d.context.allocations.map((a) => a.attemptId),
      ['job_x.t1.a1'],
    );
    d.send({ type: 'worker.heartbeat', at: T0 + 2000 + HB });
    t.equal(d.context.allocations.length, 1, 'a heartbeat without the list changes nothing');
  });

  t.test('a release of an unknown attempt changes nothing', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    d.send({ type: 'worker.task_released', at: T0 + 5000, attemptId: 'job_y.t9.a1' });
    t.equal(d.context.allocations.length, 1);
  });

  t.test('fractional cpus add up without drift', async (t) => {
    const d = readyWorker({ cpu: 1.3, memory_mb: 4096 });
    assign(d, 0, { cpu: 0.1, memory_mb: 256 });
    assign(d, 1, { cpu: 0.2, memory_mb: 256 });
    t.equal(d.value, 'ready', '1.3 − 0.3 is exactly 1');
  });

  t.test('heartbeats re-arm the timer; a stale timer is ignored', async (t) => {
    const d = readyWorker();
    d.send({ type: 'worker.heartbeat', at: T0 + 4000 });
    t.equal(d.context.lastHeartbeatAt, T0 + 4000);
    t.same(d.effects, [
      { type: 'scheduleTimer', params: { timerId: 'heartbeat', dueAt: T0 + 4000 + HB, event: { type: 'worker.heartbeat_expired', deadline: T0 + 4000 + HB } } },
    ]);
    d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB });
    t.equal(d.value, 'ready', 'the old deadline raced the heartbeat and lost');
    t.same(d.effects, []);
  });

  t.test('disconnect only marks the stream down; reconnect re-arms the timer', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    d.send({ type: 'worker.disconnected', at: T0 + 2000 });
    t.equal(d.value, 'ready');
    t.equal(d.context.connected, false);
    t.same(d.effects, []);
    d.send({ type: 'worker.reconnected', at: T0 + 3000, controllerId: 'ctl_b' });
    t.equal(d.context.connected, true);
    t.equal(d.context.controllerId, 'ctl_b');
    t.equal(d.context.allocations.length, 1, 'running tasks survive a blip');
    t.same(effectTypes(d.effects), ['scheduleTimer:heartbeat']);
  });

  t.test('heartbeat expiry → lost: tasks told, allocations cleared', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    assign(d, 1);
    d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB });
    t.equal(d.value, 'lost');
    t.same(effectTypes(d.effects), ['cancelTimer:heartbeat', 'send:task.worker_lost', 'send:task.worker_lost', 'effect:worker.lost']);
    t.same(sendsOf(d.effects, 'task.worker_lost'), [
      { to: { kind: 'task', id: 'job_x.t0' }, event: { type: 'task.worker_lost', workerId: W, attemptId: 'job_x.t0.a1' } },
      { to: { kind: 'task', id: 'job_x.t1' }, event: { type: 'task.worker_lost', workerId: W, attemptId: 'job_x.t1.a1' } },
    ]);
    t.same(effectsOfKind(d.effects, 'worker.lost'), [{ workerId: W, attemptIds: ['job_x.t0.a1', 'job_x.t1.a1'] }]);
    t.same(d.context.allocations, []);
    t.same(d.context.lostAttemptIds, ['job_x.t0.a1', 'job_x.t1.a1']);
    t.equal(d.context.endReason, 'heartbeat_expired');
  });

  t.test('busy → lost on heartbeat expiry too', async (t) => {
    const d = readyWorker({ cpu: 1, memory_mb: 1024 });
    assign(d, 0);
    t.equal(d.value, 'busy');
    d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB });
    t.equal(d.value, 'lost');
  });

  t.test('deregister with tasks → gone; tasks told they lost the worker', async (t) => {
    const d = readyWorker();
    assign(d, 0);
    d.send({ type: 'worker.deregister', at: T0 + 9000, reason: 'agent shutdown' });
    t.equal(d.value, 'gone');
    t.same(effectTypes(d.effects), ['cancelTimer:heartbeat', 'send:task.worker_lost', 'effect:worker.gone']);
    t.same(effectsOfKind(d.effects, 'worker.gone'), [{ workerId: W, reason: 'agent shutdown' }]);
    t.equal(d.context.endReason, 'agent shutdown');
  });

  t.test('busy → draining on drain', async (t) => {
    const d = readyWorker({ cpu: 1, memory_mb: 1024 });
    assign(d, 0);
    d.send({ type: 'worker.drain', at: T0 + 5000, reason: 'scale down' });
    t.equal(d.value, 'draining');
  });
});

t.test('draining', async (t) => {
  function draining() {
    const d = readyWorker();
    assign(d, 0);
    assign(d, 1);
    d.send({ type: 'worker.drain', at: T0 + 5000, reason: 'scale down' });
    return d;
  }

  t.test('drain: the agent is told, running work continues, no capacity offered', async (t) => {
    const d = draining();
    t.equal(d.value, 'draining');
    t.equal(d.context.drainReason, 'scale down');
    t.same(effectsOfKind(d.effects, 'worker.drain'), [{ workerId: W, controllerId: 'ctl_a', reason: 'scale down' }]);
    d.send({ type: 'worker.task_released', at: T0 + 6000, attemptId: 'job_x.t0.a1' });
    t.equal(d.value, 'draining');
    t.same(d.effects, [], 'no capacity_available while draining');
  });

  t.test('last release → gone (drained)', async (t) => {
    const d = draining();
    d.send({ type: 'worker.task_released', at: T0 + 6000, attemptId: 'job_x.t0.a1' });
    d.send({ type: 'worker.task_released', at: T0 + 7000, attemptId: 'job_x.t1.a1' });
    t.equal(d.value, 'gone');
    t.same(effectTypes(d.effects), ['cancelTimer:heartbeat', 'effect:worker.gone']);
    t.equal(d.context.endReason, 'drained');
  });

  t.test('a racing assignment while draining is still recorded', async (t) => {
    const d = draining();
    assign(d, 5);
    t.equal(d.context.allocations.length, 3);
    t.equal(d.value, 'draining');
  });

  t.test('heartbeats keep a draining worker alive; expiry loses it', async (t) => {
    const d = draining();
    d.send({ type: 'worker.heartbeat', at: T0 + 6000 });
    t.same(effectTypes(d.effects), ['scheduleTimer:heartbeat']);
    d.send({ type: 'worker.heartbeat_expired', at: T0 + 6000 + HB, deadline: T0 + 6000 + HB });
    t.equal(d.value, 'lost');
    t.equal(sendsOf(d.effects, 'task.worker_lost').length, 2);
  });

  t.test('a second drain is ignored', async (t) => {
    const d = draining();
    t.same(d.send({ type: 'worker.drain', at: T0 + 6000, reason: 'again' }), []);
    t.equal(d.context.drainReason, 'scale down');
  });
});

t.test('lost and gone are terminal for the registration', async (t) => {
  const makers: Record<string, () => MachineDriver<WorkerContext>> = {
    lost: () => {
      const d = readyWorker();
      d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB });
      return d;
    },
    gone: () => {
      const d = readyWorker();
      d.send({ type: 'worker.deregister', at: T0 + 10, reason: 'bye' });
      return d;
    },
  };
  for (const [state, make] of Object.entries(makers)) {
    t.test(state, async (t) => {
      const d = make();
      t.equal(d.value, state);
      const before = JSON.stringify(d.context);
      for (const event of [
        { type: 'worker.registered', at: T0 + 1e6 },
        { type: 'worker.task_released', at: T0 + 1e6, attemptId: 'job_x.t0.a1' },
        { type: 'worker.drain', at: T0 + 1e6, reason: 'x' },
        { type: 'worker.disconnected', at: T0 + 1e6 },
        { type: 'worker.deregister', at: T0 + 1e6, reason: 'x' },
        { type: 'worker.heartbeat_expired', at: T0 + 1e6, deadline: d.context.heartbeatDeadline },
      ]) {
        t.same(d.send(event), [], `${state} ignores ${event.type}`);
        t.equal(d.value, state);
      }
      t.equal(JSON.stringify(d.context), before);
      d.send({
        type: 'worker.allocations_changed',
        at: T0 + 1e6,
        assigned: [7, 8].map((n) => ({ taskId: `job_x.t${n}`, attemptId: `job_x.t${n}.a1`, requirements: {} })),
        released: [],
      });
      t.same(
        d.effects,
        [7, 8].map((n) => ({ type: 'send', params: { to: { kind: 'task', id: `job_x.t${n}` }, event: { type: 'task.worker_lost', workerId: W, attemptId: `job_x.t${n}.a1` } } })),
        'racing assignments bounce, each to its task',
      );
      t.same(d.context.allocations, []);
      d.send({ type: 'worker.heartbeat', at: T0 + 1e6 });
      t.same(effectsOfKind(d.effects, 'worker.reregister_required'), [{ workerId: W, controllerId: 'ctl_a' }]);
      d.send({ type: 'worker.reconnected', at: T0 + 1e6 });
      t.same(effectTypes(d.effects), ['effect:worker.reregister_required']);
      t.equal(d.value, state);
    });
  }
});

t.test('persist → JSON → resolveState → continue', async (t) => {
  const d = readyWorker({ cpu: 2, memory_mb: 2048 });
  assign(d, 0);
  assign(d, 1);
  t.equal(d.value, 'busy');
  t.strictSame(d.persisted().context, d.context, 'context is plain JSON: nothing lost or changed by JSON');
  d.roundTrip();
  t.equal(d.value, 'busy');
  t.equal(d.context.allocations.length, 2);
  d.send({ type: 'worker.task_released', at: T0 + 5000, attemptId: 'job_x.t0.a1' });
  t.equal(d.value, 'ready', 'eventless transitions still work after restore');
  t.same(effectTypes(d.effects), ['effect:worker.capacity_available']);
  d.send({ type: 'worker.heartbeat_expired', at: T0 + HB, deadline: T0 + HB });
  d.roundTrip();
  t.equal(d.value, 'lost');
  assign(d, 3);
  t.equal(sendsOf(d.effects, 'task.worker_lost').length, 1);
});

t.test('read model', async (t) => {
  const d = readyWorker();
  assign(d, 0, { cpu: 2, memory_mb: 1024, gpu_count: 1, gpu_memory_mb: 1 });
  const view = workerReadModel(d.persisted() as never, W) as Record<string, unknown>;
  t.match(view, {
    id: W,
    status: 'ready',
    connected: true,
    controller_id: 'ctl_a',
    agent_version: '0.1.0',
    capacity: { cpu: 4, memory_mb: 8192, storage_gb: 100, profile: 'gpu', sandboxes: ['bwrap'] },
    free: { cpu: 2, memory_mb: 7168, gpus: [{ index: 1, memory_mb: 80_000 }] },
    allocations: [{ attempt_id: 'job_x.t0.a1', task_id: 'job_x.t0', gpu_indexes: [0] }],
    registered_at: new Date(T0).toISOString(),
    heartbeat_deadline_at: new Date(T0 + HB).toISOString(),
  });
});
