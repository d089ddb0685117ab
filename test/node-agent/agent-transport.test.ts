import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { AgentGatewayClient, type AgentMessage, type ControllerMessage, type DispatchTask, type TaskFinished } from '../../src/gen/computalot/agent/v1/agent.js';
import { AgentGatewayGrpcServer } from '../../src/gateway/agents/agent-gateway-server.js';
import { NodeAgent, type NodeAgentOptions } from '../../src/node-agent/agent.js';
import { detectCapacity } from '../../src/node-agent/capacity.js';
import type { ProjectPreparer } from '../../src/node-agent/project-preparer.js';
import { ConfigError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import { PlainProcessExecutor } from '../fixtures/plain-process-executor.js';
import { RecordingAgentHandler } from '../fixtures/recording-agent-handler.js';
import { waitFor } from '../helpers/wait.js';

/** The real interpreter, not a pyenv shim (GOTCHAS: ~170 ms+ per launch through the shim). */
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const TOKEN = 'agent-token-0123456789abcdef';

interface Rig {
  readonly handler: RecordingAgentHandler;
  readonly server: AgentGatewayGrpcServer;
  readonly port: number;
}

async function startServer(t: Test, options: { agentToken?: string; heartbeatIntervalMs?: number } = {}): Promise<Rig> {
  const handler = new RecordingAgentHandler(options.heartbeatIntervalMs ?? 200);
  const server = new AgentGatewayGrpcServer({ handler, controllerId: 'ctl-test', logger: silentLogger(), agentToken: options.agentToken, registerTimeoutMs: 2000 });
  const port = await server.start({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.stop({ graceMs: 500 }));
  return { handler, server, port };
}

/** Prepares every revision at once; `bad` revisions fail. */
const preparer: ProjectPreparer = {
  prepare: async (request) => (request.contentHash.startsWith('bad') ? { state: 'failed', message: 'validation failed: python3 missing' } : { state: 'ready', message: '' }),
};

async function startAgent(t: Test, port: number, overrides: Partial<NodeAgentOptions> = {}): Promise<{ agent: NodeAgent; executor: PlainProcessExecutor }> {
  const workDir = mkdtempSync(join(tmpdir(), 'computalot-agent-'));
  const { capacity } = await detectCapacity({ workDir, declared: { gpus: [{ index: 0, name: 'NVIDIA H200', memoryMb: 143_771 }] } });
  const executor = new PlainProcessExecutor();
  const agent = new NodeAgent({
    controllers: [`127.0.0.1:${port}`],
    capacity,
    sandboxKinds: ['process'],
    executor,
    preparer,
    logger: silentLogger(),
    backoff: { initialMs: 50, maxMs: 400, factor: 2 },
    progressIntervalMs: 100,
    ...overrides,
  });
  agent.start();
  t.teardown(async () => {
    await agent.stop({ drainDeadlineMs: 0, deliveryDeadlineMs: 0 });
    rmSync(workDir, { recursive: true, force: true });
  });
  return { agent, executor };
}

function dispatch(attemptId: string, script: string, extra: Partial<DispatchTask> = {}): DispatchTask {
  return {
    taskId: `task_${attemptId}`,
    attemptId,
    fencingToken: 1,
    jobId: 'job_20260312_143000_abc123',
    project: '',
    contentHash: '',
    runnerCommand: [PYTHON, '-u', '-c', script],
    payloadJson: JSON.stringify({ x: 21 }),
    env: {},
    timeoutS: 60,
    requirements: { cpu: 1, memoryMb: 64, storageGb: 0, gpus: 0, gpuMemoryMb: 0 },
    sandboxKind: 'process',
    accountId: 'acc_1',
    projectEnv: {},
    metaEnv: {},
    tarballUrl: '',
    maxOutputBytes: 0,
    graceS: 0,
    ...extra,
  };
}

const DOUBLE_SCRIPT = [
  'import json, os',
  'payload = json.load(open(os.environ["COMPUTALOT_TASK_PAYLOAD"]))',
  'print("COMPUTALOT_PROGRESS:" + json.dumps({"pct": 50}))',
  'print("working on", payload["x"])',
  'json.dump({"doubled": payload["x"] * 2, "mode": os.environ.get("MODE")}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))',
].join('\n');

t.test('an agent registers with its capacity, heartbeats at the returned interval, runs a task and gets its result acknowledged', async (t) => {
  const { handler, port } = await startServer(t, { heartbeatIntervalMs: 150 });
  const { agent, executor } = await startAgent(t, port, { labels: { zone: 'a' } });

  const register = await handler.until('registration', () => handler.registrations[0]);
  t.equal(register.agentId, agent.agentId);
  t.equal(register.capacity?.cpu, availableParallelism(), 'cpu detected');
  t.ok((register.capacity?.memoryMb ?? 0) > 0, 'memory detected');
  t.same(register.capacity?.gpus, [{ index: 0, name: 'NVIDIA H200', memoryMb: 143_771 }], 'declared GPUs');
  t.equal(register.capacity?.profile, 'gpu', 'profile gpu when GPUs exist');
  t.same(register.labels, { zone: 'a' });

  await handler.until('four heartbeats', () => handler.heartbeats.length >= 4);
  const gaps = handler.heartbeats.slice(1, 4).map((beat, i) => beat.at - (handler.heartbeats[i]?.at ?? 0));
  // The lower bound is what the interval promises; the mean only guards against a stalled timer (CI machines stall).
  const meanGap = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
  t.ok(gaps.every((gap) => gap >= 100) && meanGap < 500, `heartbeats every ~150 ms: ${gaps.join(', ')}`);

  const session = handler.latestSession();
  t.equal(session.workerId, 'wrk_1');
  session.send({ kind: { $case: 'dispatchTask', value: dispatch('att_ok', DOUBLE_SCRIPT, { projectEnv: { MODE: 'fast' }, metaEnv: { MODE: 'slow' }, requirements: { cpu: 1, memoryMb: 64, storageGb: 0, gpus: 1, gpuMemoryMb: 80_000 } }) } });
  const finished = await handler.until('att_ok finished', () => handler.eventsOf('att_ok').find((event) => event.kind === 'finished')?.message);
  t.same(JSON.parse(finished.resultJson), { doubled: 42, mode: 'slow' }, 'result file read, meta.env wins over project env');
  t.equal(finished.exitCode, 0);
  t.equal(finished.failureKind, '');
  t.same(executor.placements[0]?.placement.gpuIndices, [0], 'the GPU was reserved for the attempt');

  const kinds = handler.eventsOf('att_ok').map((event) => event.kind);
  t.same([kinds[0], kinds.at(-1)], ['started', 'finished'], `order: ${kinds.join(' → ')}`);
  t.notOk(kinds.includes('accepted'), 'a new dispatch gets no TaskAccepted');
  const progress = handler.eventsOf('att_ok').filter((event) => event.kind === 'progress');
  t.ok(progress.some((event) => event.message.progressJson === '{"pct": 50}'), 'progress JSON forwarded');
  t.match(progress.map((event) => event.message.outputChunk).join(''), 'working on 21', 'output forwarded');

  await handler.until('result acknowledged', () => agent.status().unacknowledgedResults === 0);
  const beat = await handler.until('a heartbeat after the attempt', () => handler.heartbeats.find((b) => b.at > (handler.taskEvents.at(-1)?.at ?? 0)));
  t.same(beat.heartbeat.runningAttemptIds, [], 'nothing running');
  t.equal(beat.heartbeat.free?.gpus.length, 1, 'the GPU is free again');

  session.send({ kind: { $case: 'prepareProject', value: { project: 'demo', contentHash: 'bad01', source: { $case: 'tarballUrl', value: 'http://x' } } } });
  await handler.until('prepare reports', () => handler.prepared.length >= 2);
  t.same(
    handler.prepared.map((p) => [p.project, p.state]),
    [
      ['demo', 'initializing'],
      ['demo', 'failed'],
    ],
  );
  t.equal(handler.prepared[1]?.message, 'validation failed: python3 missing');

  session.send({ kind: { $case: 'dispatchTask', value: dispatch('att_big', DOUBLE_SCRIPT, { requirements: { cpu: 10_000, memoryMb: 1, storageGb: 0, gpus: 0, gpuMemoryMb: 0 } }) } });
  const rejected = await handler.until('att_big rejected', () => handler.eventsOf('att_big').find((event) => event.kind === 'finished')?.message);
  t.equal(rejected.failureKind, 'rejected');
  t.match(rejected.errorTail, 'not enough free capacity: cpu 10000');
});

t.test('CancelTask aborts the running attempt', async (t) => {
  const { handler, port } = await startServer(t);
  const { agent } = await startAgent(t, port);
  await handler.until('session', () => handler.opened[0]);
  const session = handler.latestSession();
  session.send({ kind: { $case: 'dispatchTask', value: dispatch('att_long', 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)') } });
  await handler.until('att_long started', () => handler.eventsOf('att_long').some((event) => event.kind === 'started'));
  await handler.until('running in a heartbeat', () => handler.heartbeats.some((b) => b.heartbeat.runningAttemptIds.includes('att_long')));
  const cancelledAt = Date.now();
  session.send({ kind: { $case: 'cancelTask', value: { attemptId: 'att_long', reason: 'job cancelled' } } });
  const finished = await handler.until('att_long finished', () => handler.eventsOf('att_long').find((event) => event.kind === 'finished')?.message);
  t.equal(finished.failureKind, 'cancelled');
  t.ok(Date.now() - cancelledAt < 5000, 'stopped promptly');
  t.same(agent.status().runningAttemptIds, []);
});

t.test('after a controller restart the agent registers again and delivers a result that finished meanwhile', async (t) => {
  const { handler, server, port } = await startServer(t);
  const { agent } = await startAgent(t, port);
  await handler.until('session', () => handler.opened[0]);
  handler.latestSession().send({
    kind: { $case: 'dispatchTask', value: dispatch('att_gap', 'import json, os, time\ntime.sleep(0.8)\njson.dump({"ok": True}, open(os.environ["COMPUTALOT_TASK_RESULT"], "w"))') },
  });
  await handler.until('att_gap started', () => handler.eventsOf('att_gap').some((event) => event.kind === 'started'));

  await server.stop({ graceMs: 500 });
  t.match(handler.closed[0], { workerId: 'wrk_1', reason: 'controller shutting down' }, 'the session closed once');
  // The attempt finishes while no controller listens: its result waits in the outbox.
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (agent.status().runningAttemptIds.length === 0) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
  t.equal(agent.status().unacknowledgedResults, 1, 'result held while disconnected');
  t.equal(agent.status().connected, false);

  await server.start({ host: '127.0.0.1', port });
  await handler.until('second registration', () => handler.opened[1]);
  t.equal(handler.latestSession().workerId, 'wrk_2', 'a new stream, a new worker id');
  t.equal(handler.registrations[1]?.agentId, agent.agentId, 'same agent id');
  const finished = await handler.until('att_gap delivered', () => handler.taskEvents.find((r) => r.workerId === 'wrk_2' && r.event.kind === 'finished')?.event.message as TaskFinished | undefined);
  t.equal(finished.attemptId, 'att_gap');
  t.same(JSON.parse(finished.resultJson), { ok: true });
  await handler.until('acknowledged', () => agent.status().unacknowledgedResults === 0);
  t.equal(handler.closed.length, 1, 'onSessionClosed ran exactly once for the first session');
});

t.test('a result the controller fails to record is resent on the next stream', async (t) => {
  const { handler, port } = await startServer(t);
  const { agent } = await startAgent(t, port);
  await handler.until('session', () => handler.opened[0]);
  handler.failFinished = true;
  handler.latestSession().send({ kind: { $case: 'dispatchTask', value: dispatch('att_retry', DOUBLE_SCRIPT) } });
  await handler.until('stream closed after the failed record', () => handler.closed[0]);
  handler.failFinished = false;
  await handler.until('resent on the new stream', () => handler.taskEvents.some((r) => r.workerId === 'wrk_2' && r.event.kind === 'finished' && r.event.message.attemptId === 'att_retry'));
  await handler.until('acknowledged', () => agent.status().unacknowledgedResults === 0);
  t.pass('delivered after the failure');
});

t.test('messages of one turn travel as one batch, and only to a peer that reads batches', async (t) => {
  const { handler, port } = await startServer(t);
  const client = new AgentGatewayClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(() => client.close());
  const finished = (attemptId: string): AgentMessage => ({
    kind: {
      $case: 'taskFinished',
      value: { attemptId, exitCode: 0, resultJson: '{}', outputTail: '', errorTail: '', failureKind: '', runtimeMs: 1, artifactIds: [] },
    },
  });
  const open = async (agentId: string, acceptsBatches: boolean) => {
    const stream = client.connect();
    const received: ControllerMessage[] = [];
    stream.on('data', (message: ControllerMessage) => received.push(message));
    stream.on('error', () => undefined);
    t.teardown(() => stream.cancel());
    const capacity = { cpu: 2, memoryMb: 1024, storageGb: 1, gpus: [], profile: 'cpu' };
    stream.write({
      kind: {
        $case: 'register',
        value: { agentId, hostname: 'h', capacity, sandboxKinds: ['process'], recipeRuntimes: [], labels: {}, agentVersion: '0.1.0', acceptsBatches },
      },
    });
    const registered = await waitFor('Registered', () => (received[0]?.kind?.$case === 'registered' ? received[0].kind.value : undefined));
    return { stream, received, registered };
  };

  const batched = await open('agent-batched', true);
  t.equal(batched.registered.acceptsBatches, true, 'the controller says it reads batches');
  batched.stream.write({
    kind: {
      $case: 'batch',
      value: {
        messages: [
          { kind: { $case: 'taskStarted', value: { attemptId: 'att_b1' } } },
          finished('att_b1'),
          finished('att_b2'),
          { kind: { $case: 'batch', value: { messages: [finished('att_nested')] } } },
        ],
      },
    },
  });
  await handler.until('both results', () => handler.eventsOf('att_b2').length > 0);
  t.same(
    handler.taskEvents.filter((r) => r.workerId === batched.registered.workerId).map((r) => `${r.event.kind}:${r.event.message.attemptId}`),
    ['started:att_b1', 'finished:att_b1', 'finished:att_b2'],
    'a batch is its messages in order; a nested batch is ignored',
  );
  const acks = await waitFor('the acks', () => batched.received.find((message) => message.kind?.$case === 'batch'));
  t.same(
    acks.kind?.$case === 'batch' ? acks.kind.value.messages.map((m) => (m.kind?.$case === 'taskFinishedAck' ? m.kind.value.attemptId : m.kind?.$case)) : [],
    ['att_b1', 'att_b2'],
    'the acks of one turn come back as one batch',
  );

  const plain = await open('agent-plain', false);
  const session = handler.latestSession();
  session.send({ kind: { $case: 'ping', value: { sentAtMs: 1 } } });
  session.send({ kind: { $case: 'ping', value: { sentAtMs: 2 } } });
  await waitFor('both pings', () => plain.received.length >= 3);
  t.same(
    plain.received.map((message) => message.kind?.$case),
    ['registered', 'ping', 'ping'],
    'an agent that did not say it reads batches gets each message alone',
  );
});

t.test('a stream must start with Register', async (t) => {
  const { handler, port } = await startServer(t);
  const client = new AgentGatewayClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(() => client.close());
  const stream = client.connect();
  const error = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
  stream.on('data', () => undefined);
  stream.write({ kind: { $case: 'heartbeat', value: { sentAtMs: Date.now(), runningAttemptIds: [], free: undefined } } });
  const status = await error;
  t.equal(status.details, 'the first message must be Register, got heartbeat');
  t.equal(status.code, 3, 'INVALID_ARGUMENT');
  t.equal(handler.registrations.length, 0);
  t.equal(handler.closed.length, 0, 'no session, so no close callback');
});

t.test('the agent token is enforced when configured', async (t) => {
  const { handler, port } = await startServer(t, { agentToken: TOKEN });

  const client = new AgentGatewayClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(() => client.close());
  const anonymous = client.connect();
  const refused = new Promise<ServiceError>((resolve) => anonymous.on('error', resolve));
  anonymous.on('data', () => undefined);
  const refusal = await refused;
  t.equal(refusal.code, 16, 'UNAUTHENTICATED');
  t.equal(refusal.details, 'missing or invalid agent token');

  const wrongMetadata = new Metadata();
  wrongMetadata.set('authorization', 'Bearer not-the-token');
  const wrong = client.connect(wrongMetadata);
  wrong.on('data', () => undefined);
  t.equal((await new Promise<ServiceError>((resolve) => wrong.on('error', resolve))).code, 16);

  const { agent } = await startAgent(t, port, { agentToken: TOKEN });
  await handler.until('the agent with the token registers and heartbeats', () => handler.heartbeats[0]);
  t.equal(agent.status().connected, true);
  t.equal(handler.registrations.length, 1, 'only the agent with the token registered');

  const open = new AgentGatewayGrpcServer({ handler, controllerId: 'c', logger: silentLogger() });
  await t.rejects(open.start({ host: '0.0.0.0', port: 0 }), ConfigError, 'no token on a non-loopback address is refused');
});

t.test('a `computalot agent` process registers, runs a task through the runner and drains on SIGTERM', async (t) => {
  const { handler, port } = await startServer(t, { agentToken: TOKEN, heartbeatIntervalMs: 300 });
  const workDir = mkdtempSync(join(tmpdir(), 'computalot-agent-cli-'));
  t.teardown(() => rmSync(workDir, { recursive: true, force: true }));
  const fixture = fileURLToPath(new URL('../fixtures/agent-cli.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, 'agent', '--controller', `127.0.0.1:1,127.0.0.1:${port}`, '--work-dir', workDir, '--cpu', '3', '--sandbox', 'process', '--allow-unsandboxed'],
    { env: { ...process.env, COMPUTALOT_AGENT_TOKEN: TOKEN, COMPUTALOT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  const register = await handler.until('the agent process registers (after skipping the dead controller)', () => handler.registrations[0], 20_000);
  t.equal(register.capacity?.cpu, 3, '--cpu wins over detection');
  t.equal(register.capacity?.profile, 'cpu');
  t.same(register.sandboxKinds, ['process']);
  await handler.until('registered line printed', () => /^Agent \S+ registered with 127\.0\.0\.1:\d+ as wrk_1$/m.test(output));

  handler.latestSession().send({ kind: { $case: 'dispatchTask', value: dispatch('att_cli', DOUBLE_SCRIPT, { runnerCommand: ['python3', '-c', DOUBLE_SCRIPT], sandboxKind: 'process' }) } });
  const finished = await handler.until('att_cli finished', () => handler.eventsOf('att_cli').find((event) => event.kind === 'finished')?.message, 20_000);
  t.equal(finished.failureKind, '', `succeeded: ${finished.errorTail}`);
  t.same(JSON.parse(finished.resultJson), { doubled: 42, mode: null });
  t.ok(handler.eventsOf('att_cli').some((event) => event.kind === 'progress' && event.message.progressJson === '{"pct":50}'), 'runner progress forwarded');

  child.kill('SIGTERM');
  t.equal(await exited, 0, `clean exit\n${output}`);
  await handler.until('session closed', () => handler.closed[0]);
});
