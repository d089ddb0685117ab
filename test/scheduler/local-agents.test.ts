/**
 * The capacity a controller counts on its agents: an attempt holds a slot
 * from its claim until its agent reports it ended; a late dispatch of an
 * ended attempt (an outbox record delivered twice) holds nothing.
 */
import t from 'tap';
import { DEFAULT_REQUIREMENTS } from '../../src/actors/shared/resources.js';
import type { AgentSession } from '../../src/gateway/agents/agent-session.js';
import { LocalAgentPool } from '../../src/scheduler/local-agents.js';

const WORKER = 'wrk_0123456789abcdef';
const NOW = 1_700_000_000_000;

function poolWithTwoCpus(): LocalAgentPool {
  const pool = new LocalAgentPool();
  // Only what the pool reads of a session: its worker id and registered capacity.
  const session = { workerId: WORKER, register: { capacity: { cpu: 2, memoryMb: 4096, storageGb: 10, gpus: [], profile: 'cpu' } } } as unknown as AgentSession;
  pool.add(session);
  return pool;
}

t.test('an attempt holds capacity until its end is reported', async (t) => {
  const pool = poolWithTwoCpus();
  pool.hold(WORKER, 'job_1.t0.a1', DEFAULT_REQUIREMENTS, NOW);
  pool.confirm(WORKER, 'job_1.t0.a1');
  t.equal(pool.free(WORKER, NOW)?.cpu, 1);
  pool.release(WORKER, 'job_1.t0.a1');
  t.equal(pool.free(WORKER, NOW)?.cpu, 2);
});

t.test('a dispatch of an attempt that already ended holds nothing', async (t) => {
  const pool = poolWithTwoCpus();
  pool.hold(WORKER, 'job_1.t0.a1', DEFAULT_REQUIREMENTS, NOW);
  pool.confirm(WORKER, 'job_1.t0.a1');
  pool.release(WORKER, 'job_1.t0.a1');
  // The same dispatch delivered again: it would otherwise hold a slot no end report frees.
  pool.hold(WORKER, 'job_1.t0.a1', DEFAULT_REQUIREMENTS, NOW + 1);
  pool.confirm(WORKER, 'job_1.t0.a1');
  t.equal(pool.free(WORKER, NOW + 60_000)?.cpu, 2);
  t.same(pool.attemptsOf(WORKER), []);
  pool.hold(WORKER, 'job_1.t0.a2', DEFAULT_REQUIREMENTS, NOW + 2);
  t.equal(pool.free(WORKER, NOW + 2)?.cpu, 1, 'its retry is a new attempt and holds as usual');
});

t.test('a claim lost to another controller is dropped, not ended', async (t) => {
  const pool = poolWithTwoCpus();
  pool.hold(WORKER, 'job_1.t1.a1', DEFAULT_REQUIREMENTS, NOW);
  pool.unhold(WORKER, 'job_1.t1.a1');
  t.equal(pool.free(WORKER, NOW)?.cpu, 2);
  // The winner may still forward its dispatch to this agent: it must be counted.
  pool.hold(WORKER, 'job_1.t1.a1', DEFAULT_REQUIREMENTS, NOW + 1);
  pool.confirm(WORKER, 'job_1.t1.a1');
  t.equal(pool.free(WORKER, NOW + 1)?.cpu, 1);
});

t.test('an unconfirmed claim lapses', async (t) => {
  const pool = poolWithTwoCpus();
  pool.hold(WORKER, 'job_1.t2.a1', DEFAULT_REQUIREMENTS, NOW);
  t.equal(pool.free(WORKER, NOW + 1)?.cpu, 1);
  t.equal(pool.free(WORKER, NOW + 60_000)?.cpu, 2);
});
