import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorKinds } from '../../src/actors/index.js';
import { ControllerNode, type EffectHandler } from '../../src/actors/runtime/index.js';
import { jobEffectHandlers } from '../../src/scheduler/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { Store } from '../../src/store/index.js';
import { EmbeddedStore } from '../../src/store/embedded/index.js';
import { makeRedisStore, startRedisServer } from '../fixtures/redis-server.js';

/**
 * One controller node with the product's actor kinds and job effect handlers
 * (no scheduler, no agent) on a fresh embedded store; stopped and deleted when
 * `t` ends. For tests that drive jobs and tasks by their events.
 */
export async function startJobNode(t: Test, name: string) {
  const dataDir = await mkdtemp(join(tmpdir(), `computalot-${name}-`));
  const store = await EmbeddedStore.open({ dataDir, shardCount: 4 });
  return startNodeOn(t, store, () => rm(dataDir, { recursive: true, force: true }));
}

/** `startJobNode` on a real redis-server of its own (started and killed with `t`). */
export async function startRedisJobNode(t: Test) {
  const redis = await startRedisServer(t);
  return startNodeOn(t, await makeRedisStore(redis, { shardCount: 4 }), async () => {});
}

async function startNodeOn<S extends Store>(t: Test, store: S, removeData: () => Promise<void>) {
  const effectHandlers = new Map<string, EffectHandler>();
  const node = new ControllerNode({ store, kinds: actorKinds, logger: silentLogger(), leaseTtlMs: 1_500, heartbeatIntervalMs: 200, effectHandlers });
  for (const [kind, handler] of jobEffectHandlers(node, store)) effectHandlers.set(kind, handler);
  await node.start();
  t.teardown(async () => {
    await node.stop();
    await store.close();
    await removeData();
  });
  return { store, node, effectHandlers };
}
