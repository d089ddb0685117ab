import { once } from 'node:events';
import t from 'tap';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import {
  AgentGatewayClient,
  AgentGatewayService,
  AgentMessage,
  ControllerMessage,
  type AgentGatewayServer,
} from '../../src/gen/computalot/agent/v1/agent.js';

const register: AgentMessage = {
  kind: {
    $case: 'register',
    value: {
      agentId: 'agent-a',
      hostname: 'node-1',
      capacity: { cpu: 8, memoryMb: 32768, storageGb: 100, gpus: [{ index: 0, name: 'NVIDIA H200', memoryMb: 143771 }], profile: 'gpu' },
      sandboxKinds: ['bwrap', 'process'],
      recipeRuntimes: ['python3'],
      labels: { zone: 'a' },
      agentVersion: '0.1.0',
      acceptsBatches: true,
    },
  },
};

t.test('messages round-trip through the wire format; int64 fields are numbers', async (t) => {
  t.same(AgentMessage.decode(AgentMessage.encode(register).finish()), register);

  const dispatch: ControllerMessage = {
    kind: {
      $case: 'dispatchTask',
      value: {
        taskId: 'task_1',
        attemptId: 'att_1',
        fencingToken: 2 ** 40 + 7,
        jobId: 'job_20260312_143000_abc123',
        project: 'demo',
        contentHash: 'ab'.repeat(32),
        runnerCommand: ['python3', 'main.py'],
        payloadJson: '{"x":1}',
        env: { A: '1' },
        timeoutS: 300,
        requirements: { cpu: 1, memoryMb: 512, storageGb: 1, gpus: 0, gpuMemoryMb: 0 },
        sandboxKind: 'bwrap',
        accountId: 'acc_1',
        projectEnv: { MODE: 'fast' },
        metaEnv: { MODE: 'slow' },
        tarballUrl: 'http://127.0.0.1:8080/internal/blobs/x',
        maxOutputBytes: 10_240,
        graceS: 5,
      },
    },
  };
  const decoded = ControllerMessage.decode(ControllerMessage.encode(dispatch).finish());
  t.same(decoded, dispatch);
  t.type(decoded.kind?.$case === 'dispatchTask' ? decoded.kind.value.fencingToken : undefined, 'number');

  const prepare: ControllerMessage = {
    kind: { $case: 'prepareProject', value: { project: 'demo', contentHash: 'cd'.repeat(32), source: { $case: 'tarballArtifactId', value: 'art_x' } } },
  };
  t.same(ControllerMessage.decode(ControllerMessage.encode(prepare).finish()), prepare);

  const ack: ControllerMessage = { kind: { $case: 'taskFinishedAck', value: { attemptId: 'att_1' } } };
  t.same(ControllerMessage.decode(ControllerMessage.encode(ack).finish()), ack);

  const finished: AgentMessage = {
    kind: {
      $case: 'taskFinished',
      value: { attemptId: 'att_1', exitCode: -1, resultJson: '', outputTail: 'out', errorTail: 'err', failureKind: 'timeout', runtimeMs: 1500, artifactIds: ['art_1'] },
    },
  };
  t.same(AgentMessage.decode(AgentMessage.encode(finished).finish()), finished, 'negative exit codes survive (sint32)');
});

t.test('the generated service works over a real grpc-js bidirectional stream', async (t) => {
  const server = new Server();
  const implementation: AgentGatewayServer = {
    connect: (call) => {
      call.on('data', (message: AgentMessage) => {
        if (message.kind?.$case === 'register') {
          call.write({ kind: { $case: 'registered', value: { workerId: `wrk_${message.kind.value.agentId}`, heartbeatIntervalMs: 2000, controllerId: 'c1', acceptsBatches: true } } });
          call.end();
        }
      });
    },
  };
  server.addService(AgentGatewayService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
  );
  t.teardown(() => server.forceShutdown());

  const client = new AgentGatewayClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(() => client.close());
  const stream = client.connect();
  stream.write(register);
  const [reply] = (await once(stream, 'data')) as [ControllerMessage];
  t.same(reply, { kind: { $case: 'registered', value: { workerId: 'wrk_agent-a', heartbeatIntervalMs: 2000, controllerId: 'c1', acceptsBatches: true } } });
  stream.end();
});
