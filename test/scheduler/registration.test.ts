/**
 * An agent's registration with the scheduler, against a real controller node
 * on each store (embedded, and a real redis-server): the worker actor exists
 * before the agent learns its id, so nothing the stream reports afterwards
 * can reach a worker that is not there yet (and be dropped, leaving the
 * worker in `registering`).
 */
import t, { type Test } from 'tap';
import type { ControllerNode } from '../../src/actors/runtime/index.js';
import { workerRef } from '../../src/actors/shared/ids.js';
import type { Register } from '../../src/gen/computalot/agent/v1/agent.js';
import type { AgentSession } from '../../src/gateway/agents/agent-session.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { JsonObject } from '../../src/shared/json.js';
import type { Store } from '../../src/store/index.js';
import { startJobNode, startRedisJobNode } from '../helpers/job-node.js';
import { waitFor } from '../helpers/wait.js';

const REGISTER: Register = {
  agentId: 'agent-1',
  hostname: 'host-1',
  capacity: { cpu: 4, memoryMb: 8192, storageGb: 20, gpus: [], profile: 'cpu' },
  sandboxKinds: ['process'],
  recipeRuntimes: [],
  labels: {},
  agentVersion: '1.0.0',
  acceptsBatches: true,
};

// The race showed on Redis, where the mailbox loop lags behind a direct commit.
const stores = {
  embedded: (t: Test) => startJobNode(t, 'registration'),
  redis: startRedisJobNode,
};

for (const [storeName, startNode] of Object.entries(stores)) {
  t.test(`${storeName} store: the worker exists once onRegister answers, and the open stream makes it ready`, (t) => registersBeforeAnswering(t, startNode));
}

async function registersBeforeAnswering(t: Test, startNode: (t: Test) => Promise<{ node: ControllerNode; store: Store }>): Promise<void> {
  const { node, store } = await startNode(t);
  const scheduler = new Scheduler({ node, store, logger: silentLogger() });
  t.teardown(() => scheduler.stop());
  const worker = async () => ((await node.readModels([workerRef(workerId)]))[0] ?? null) as JsonObject | null;

  const { workerId } = await scheduler.onRegister(REGISTER);
  const created = await worker();
  t.equal(created?.status, 'registering', 'created before the agent hears its id');
  t.same(created?.capacity, { cpu: 4, memory_mb: 8192, storage_gb: 20, gpus: [], profile: 'cpu', sandboxes: ['process'], runtimes: [] });

  const session: AgentSession = { workerId, register: REGISTER, send: () => true, close: () => undefined };
  scheduler.onSessionOpen(session);
  scheduler.onHeartbeat(session, { sentAtMs: Date.now(), runningAttemptIds: [], free: undefined });
  const ready = await waitFor('the worker ready', async () => {
    const model = await worker();
    return model?.status === 'ready' ? model : undefined;
  });
  t.equal(ready.connected, true);
  t.equal(ready.controller_id, node.controllerId);
  scheduler.onSessionClosed(session, 'test over');
}
