import { shardLeaseName, type CommitRequest, type CommitResult } from '../store.js';
import { RedisKeys } from './keys.js';
import type { ScriptArg } from './scripts.js';

/** KEYS and ARGV of `commands/commit-6.lua` for one request. */
export interface EncodedCommit {
  readonly keys: string[];
  readonly args: ScriptArg[];
}

/**
 * Flattens a commit into the script's arguments (layout documented in the
 * script's header). Every key it names carries the request shard's tag.
 */
export function encodeCommit(keys: RedisKeys, request: CommitRequest, appliedRetentionMs: number): EncodedCommit {
  const { shard } = request;
  const applied = request.appliedEventIds ?? [];
  const acks = request.ack ?? [];
  const outbox = request.outbox ?? [];
  const cancels = request.cancelTimers ?? [];
  const schedules = request.scheduleTimers ?? [];
  const sends = request.send ?? [];

  const args: ScriptArg[] = [
    String(request.fence),
    appliedRetentionMs,
    RedisKeys.mailboxGroup,
    request.writes.length,
    applied.length,
    acks.length,
    outbox.length,
    cancels.length,
    schedules.length,
    sends.length,
  ];
  for (const write of request.writes) {
    const log = write.log ?? [];
    let readModelOp: 'keep' | 'set' | 'delete' = 'keep';
    if (write.readModel === null) readModelOp = 'delete';
    else if (write.readModel !== undefined) readModelOp = 'set';
    args.push(
      keys.entity(shard, write.ref),
      // Keys the script will not touch go as '' (most task writes keep no read model and log nothing).
      readModelOp === 'keep' ? '' : keys.readModel(shard, write.ref),
      log.length === 0 ? '' : keys.eventLog(shard, write.ref),
      write.expectedVersion,
      JSON.stringify(write.snapshot),
      readModelOp,
      readModelOp === 'set' ? JSON.stringify(write.readModel) : '',
      log.length,
    );
    for (const line of log) args.push(JSON.stringify(line));
  }
  for (const eventId of applied) args.push(eventId);
  for (const entryId of acks) args.push(entryId);
  for (const item of outbox) args.push(JSON.stringify(item));
  for (const timerId of cancels) args.push(timerId);
  for (const timer of schedules) {
    // A timer fires into its own shard's mailbox (same slot as the timer set),
    // so a message addressed elsewhere would be delivered to the wrong shard.
    if (timer.message.shard !== shard) {
      throw new RangeError(`Timer ${timer.timerId} targets shard ${timer.message.shard} but is scheduled on shard ${shard}`);
    }
    args.push(timer.timerId, timer.dueAt, JSON.stringify(timer.message));
  }
  for (const message of sends) {
    if (message.shard !== shard) throw new RangeError(`A commit on shard ${shard} cannot append to shard ${message.shard}'s mailbox; use the outbox`);
    args.push(JSON.stringify(message));
  }

  return {
    keys: [
      keys.lease(shardLeaseName(shard)),
      keys.applied(shard),
      keys.mailbox(shard),
      keys.outbox(shard),
      keys.timers(shard),
      keys.timerMessages(shard),
    ],
    args,
  };
}

/** Turns the script's reply into the interface's result shape. */
export function decodeCommitReply(request: CommitRequest, reply: unknown): CommitResult {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
    throw new Error(`Unexpected commit script reply: ${JSON.stringify(reply)}`);
  }
  const [status, ...rest] = reply as [string, ...unknown[]];
  switch (status) {
    case 'ok':
      return { ok: true, outboxIds: rest.map(String) };
    case 'stale_fence':
      return { ok: false, reason: 'stale_fence' };
    case 'conflict': {
      const write = request.writes[Number(rest[0]) - 1];
      if (!write) throw new Error(`Commit script named a conflict on unknown write ${String(rest[0])}`);
      return { ok: false, reason: 'conflict', ref: write.ref, actualVersion: Number(rest[1]) };
    }
    case 'duplicate':
      return { ok: false, reason: 'duplicate', eventId: String(rest[0]) };
    default:
      throw new Error(`Unexpected commit script status ${status}`);
  }
}
