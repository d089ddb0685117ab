import { shardLeaseName, type CommitRequest, type CommitResult, type EventLogRecord } from '../store.js';
import type { Mutation } from './mutations.js';
import { entityKey, type StoreState } from './state.js';
import { formatStreamId, nextStreamId } from './stream-id.js';
import { planAppends } from './mailbox-plan.js';

/**
 * A fence is good only while the shard's lease is live and carries exactly
 * that token: once the lease expires, is released or is taken by someone
 * else, writes under the old token are refused (as in the Redis scripts).
 */
export function isFenceStale(state: StoreState, shard: number, fence: number, now: number): boolean {
  const lease = state.leases.get(shardLeaseName(shard));
  return !lease || lease.expiresAt <= now || lease.token !== fence;
}

/** A commit the checks let through: what to write and the outbox ids it creates. */
export interface CommitPlan {
  readonly mutations: Mutation[];
  readonly outboxIds: string[];
}

type CommitRefusal = Exclude<CommitResult, { ok: true }>;

/**
 * Checks a commit against the current state — fence, then every expected
 * version, then applied event ids — and, when it passes, turns it into one
 * batch of mutations. Pure apart from reading `state`; `now` stamps applied
 * ids and outbox ids.
 */
export function planCommit(state: StoreState, request: CommitRequest, now: number): CommitPlan | CommitRefusal {
  const { shard } = request;
  for (const message of request.send ?? []) {
    if (message.shard !== shard) throw new RangeError(`A commit on shard ${shard} cannot append to shard ${message.shard}'s mailbox; use the outbox`);
  }
  if (isFenceStale(state, shard, request.fence, now)) return { ok: false, reason: 'stale_fence' };
  for (const write of request.writes) {
    const actualVersion = state.entities.get(entityKey(write.ref.kind, write.ref.id))?.version ?? 0;
    if (actualVersion !== write.expectedVersion) {
      return { ok: false, reason: 'conflict', ref: { kind: write.ref.kind, id: write.ref.id }, actualVersion };
    }
  }
  const appliedEventIds = request.appliedEventIds ?? [];
  for (const eventId of appliedEventIds) {
    if (state.wasApplied(shard, eventId, now)) return { ok: false, reason: 'duplicate', eventId };
  }

  const mutations: Mutation[] = [];
  // Log lengths as this commit grows them, in case two writes name one entity.
  const logLengths = new Map<string, number>();
  for (const write of request.writes) {
    const { kind, id } = write.ref;
    mutations.push({ t: 'entity', kind, id, version: write.expectedVersion + 1, snapshot: write.snapshot });
    if (write.readModel !== undefined) mutations.push({ t: 'readModel', kind, id, value: write.readModel });
    if (write.log && write.log.length > 0) {
      const key = entityKey(kind, id);
      const before = logLengths.get(key) ?? state.entities.get(key)?.log.length ?? 0;
      const records = write.log.map((entry, index): EventLogRecord => {
        const record: EventLogRecord = { seq: before + index + 1, at: entry.at, type: entry.type };
        return entry.data === undefined ? record : { ...record, data: entry.data };
      });
      logLengths.set(key, before + records.length);
      mutations.push({ t: 'log', kind, id, records });
    }
  }
  if (appliedEventIds.length > 0) mutations.push({ t: 'applied', shard, ids: [...appliedEventIds], at: now });
  if (request.ack && request.ack.length > 0) mutations.push({ t: 'mbAck', shard, entryIds: [...request.ack] });

  const outboxIds: string[] = [];
  let lastOutboxId = state.outboxes[shard]?.lastId ?? { ms: 0, seq: 0 };
  for (const item of request.outbox ?? []) {
    lastOutboxId = nextStreamId(lastOutboxId, now);
    const outboxId = formatStreamId(lastOutboxId);
    outboxIds.push(outboxId);
    mutations.push({ t: 'obAdd', shard, outboxId, item });
  }
  // Cancels first: a timer both cancelled and scheduled in one commit ends up scheduled.
  if (request.cancelTimers && request.cancelTimers.length > 0) mutations.push({ t: 'timerDel', shard, timerIds: [...request.cancelTimers] });
  for (const timer of request.scheduleTimers ?? []) {
    mutations.push({ t: 'timerSet', shard, timerId: timer.timerId, dueAt: timer.dueAt, message: timer.message });
  }
  mutations.push(...planAppends(state, (request.send ?? []).map((message) => ({ shard, message })), now));
  return { mutations, outboxIds };
}
