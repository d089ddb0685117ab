import type { ResourceRequirements } from '../actors/shared/resources.js';
import { BoundedCache } from '../shared/bounded-cache.js';
import type { AgentSession } from '../gateway/agents/agent-session.js';
import { capacityFromRegister, fits, subtract, type FreeCapacity } from './capacity.js';

/** Ended attempt ids remembered (a few minutes of a busy agent's results). */
const ENDED_MEMORY = 100_000;

/** How long a claimed attempt holds capacity before its dispatch is confirmed. */
const CLAIM_HOLD_MS = 10_000;

interface Placement {
  readonly requirements: ResourceRequirements;
  /** Until confirmed by a sent dispatch, a claim lapses (the task may have refused it). */
  confirmed: boolean;
  readonly claimedAt: number;
}

interface LocalAgent {
  readonly session: AgentSession;
  readonly total: FreeCapacity;
  readonly placements: Map<string, Placement>;
}

/**
 * The agents whose streams this controller holds, and what is placed on each.
 * Placement decisions are made here, by the controller that holds the stream
 * (pull-based scheduling): only it knows what its agents are running now.
 */
export class LocalAgentPool {
  private readonly agents = new Map<string, LocalAgent>();
  /**
   * Attempts reported ended here lately. An attempt id is never run again (a
   * retry is a new attempt), so a dispatch of one that arrives late (an
   * outbox record delivered twice, or swept by a new shard owner) must not
   * hold capacity: no end report would ever come to release it.
   */
  private readonly ended = new BoundedCache<true>(ENDED_MEMORY);

  add(session: AgentSession): void {
    this.agents.set(session.workerId, { session, total: capacityFromRegister(session.register.capacity), placements: new Map() });
  }

  remove(workerId: string): string[] {
    const agent = this.agents.get(workerId);
    this.agents.delete(workerId);
    return agent ? [...agent.placements.keys()] : [];
  }

  session(workerId: string): AgentSession | undefined {
    return this.agents.get(workerId)?.session;
  }

  sessions(): AgentSession[] {
    return [...this.agents.values()].map((agent) => agent.session);
  }

  get size(): number {
    return this.agents.size;
  }

  /** Capacity left on `workerId` now, lapsed claims excluded. */
  free(workerId: string, now: number): FreeCapacity | undefined {
    const agent = this.agents.get(workerId);
    if (!agent) return undefined;
    let free = agent.total;
    for (const [attemptId, placement] of agent.placements) {
      if (!placement.confirmed && now - placement.claimedAt > CLAIM_HOLD_MS) {
        agent.placements.delete(attemptId);
        continue;
      }
      free = subtract(free, placement.requirements);
    }
    return free;
  }

  canPlace(workerId: string, requirements: ResourceRequirements, now: number): boolean {
    const free = this.free(workerId, now);
    return free !== undefined && fits(requirements, free);
  }

  hold(workerId: string, attemptId: string, requirements: ResourceRequirements, now: number): void {
    if (this.ended.get(attemptId) !== undefined) return;
    this.agents.get(workerId)?.placements.set(attemptId, { requirements, confirmed: false, claimedAt: now });
  }

  confirm(workerId: string, attemptId: string): void {
    const placement = this.agents.get(workerId)?.placements.get(attemptId);
    if (placement) placement.confirmed = true;
  }

  /** Drops a hold that will not be dispatched here (another controller claimed the attempt). */
  unhold(workerId: string, attemptId: string): void {
    this.agents.get(workerId)?.placements.delete(attemptId);
  }

  /** `attemptId` ended (its agent reported it): its capacity is free, and stays free. */
  release(workerId: string, attemptId: string): void {
    this.ended.set(attemptId, true);
    this.agents.get(workerId)?.placements.delete(attemptId);
  }

  /** The attempts placed on `workerId` (claimed or sent, not yet reported ended). */
  attemptsOf(workerId: string): string[] {
    return [...(this.agents.get(workerId)?.placements.keys() ?? [])];
  }

  /** Which local worker (if any) runs `attemptId`. */
  workerOf(attemptId: string): string | undefined {
    for (const [workerId, agent] of this.agents) if (agent.placements.has(attemptId)) return workerId;
    return undefined;
  }
}
