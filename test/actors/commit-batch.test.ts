/**
 * `CommitBatch` gathers one shard commit from rounds of entity changes: an
 * entity changed twice is one write with both rounds' log lines, its timers
 * merged in order, and local sends become the next round instead of mailbox
 * entries.
 */
import t from 'tap';
import { CommitBatch } from '../../src/actors/runtime/commit-batch.js';
import type { EntityChange } from '../../src/actors/runtime/apply-events.js';
import type { EntityRef, MailboxMessage, TimerSpec } from '../../src/store/store.js';

const SHARD = 3;
const job: EntityRef = { kind: 'job', id: 'job_1' };
const task: EntityRef = { kind: 'task', id: 'job_1.t0' };

function message(target: EntityRef, shard: number, eventId: string): MailboxMessage {
  return { eventId, target, shard, event: { type: 'x.happened', at: 1 } };
}

function timer(timerId: string, dueAt: number): TimerSpec {
  return { timerId, dueAt, message: message(job, SHARD, `timer:${timerId}@${dueAt}`) };
}

function change(ref: EntityRef, expectedVersion: number, step: number, extra: Partial<EntityChange> = {}): EntityChange {
  return {
    write: { ref, expectedVersion, snapshot: { step }, readModel: { step }, log: [{ at: step, type: `step-${step}`, data: null }] },
    outbox: [],
    scheduleTimers: [],
    cancelTimers: [],
    appliedEventIds: [`event-${ref.id}-${step}`],
    droppedEventIds: [],
    ...extra,
  };
}

t.test('an entity changed in two rounds is one write: the last state, the loaded version, every log line', async (t) => {
  const batch = new CommitBatch(SHARD);
  batch.add(change(job, 7, 1), true);
  t.same(batch.current(job), { ref: job, version: 7, snapshot: { step: 1 } }, 'the next round starts from the first round’s state');
  batch.add(change(job, 7, 2), false);
  const { commit } = batch.request(11, ['1-0']);
  t.equal(commit.writes.length, 1);
  t.same(commit.writes[0], {
    ref: job,
    expectedVersion: 7,
    snapshot: { step: 2 },
    readModel: { step: 2 },
    log: [
      { at: 1, type: 'step-1', data: null },
      { at: 2, type: 'step-2', data: null },
    ],
  });
  t.same(commit.appliedEventIds, ['event-job_1-1'], 'only the round of delivered messages records applied ids');
  t.same(commit.ack, ['1-0']);
  t.equal(commit.fence, 11);
  t.equal(batch.appliedCount, 1);
});

t.test('timers merge in order across rounds', async (t) => {
  const batch = new CommitBatch(SHARD);
  batch.add(change(task, 1, 1, { scheduleTimers: [timer('task:a:attempt', 100)], cancelTimers: ['task:a:retry'] }), true);
  batch.add(change(task, 1, 2, { cancelTimers: ['task:a:attempt'], scheduleTimers: [timer('task:a:retry', 200)] }), false);
  const { commit } = batch.request(1, []);
  t.same(commit.scheduleTimers, [timer('task:a:retry', 200)], 'scheduled then cancelled is gone; cancelled then scheduled is scheduled');
  t.same(commit.cancelTimers, ['task:a:attempt']);

  const rescheduled = new CommitBatch(SHARD);
  rescheduled.add(change(task, 1, 1, { scheduleTimers: [timer('task:a:attempt', 100)] }), true);
  rescheduled.add(change(task, 1, 2, { scheduleTimers: [timer('task:a:attempt', 300)] }), false);
  t.same(rescheduled.request(1, []).commit.scheduleTimers, [timer('task:a:attempt', 300)], 'the later due time wins');
});

t.test('a later round without a read model keeps the earlier one', async (t) => {
  const batch = new CommitBatch(SHARD);
  batch.add(change(job, 2, 1), true);
  const withoutReadModel = change(job, 2, 2);
  const { readModel: _dropped, ...write } = withoutReadModel.write as NonNullable<EntityChange['write']>;
  batch.add({ ...withoutReadModel, write }, false);
  t.same(batch.request(1, []).commit.writes[0]?.readModel, { step: 1 });
});

t.test('local sends are the next round; the rest is one outbox record, in order', async (t) => {
  const batch = new CommitBatch(SHARD);
  const local = message(job, SHARD, 'report');
  const elsewhere = message({ kind: 'worker', id: 'wrk_1' }, SHARD + 1, 'release');
  const effect = { kind: 'effect' as const, effectId: 'dispatch', effect: { kind: 'task.dispatch', data: null } };
  batch.add(change(task, 0, 1, { outbox: [{ kind: 'message', message: local }, { kind: 'message', message: elsewhere }, effect] }), true);
  t.same(batch.takeLocalMessages(), [local]);
  t.same(batch.takeLocalMessages(), [], 'taken once');
  const { commit, outbox } = batch.request(1, []);
  t.same(outbox, [{ kind: 'batch', items: [{ kind: 'message', message: elsewhere }, effect] }]);
  t.same(commit.outbox, outbox);
  t.same(commit.send, []);
});

t.test('local sends not taken (the round limit) go to the mailbox with the commit', async (t) => {
  const batch = new CommitBatch(SHARD);
  const local = message(job, SHARD, 'report');
  batch.add(change(task, 0, 1, { outbox: [{ kind: 'message', message: local }] }), true);
  const { commit, outbox, live } = batch.request(1, []);
  t.same(commit.send, [local]);
  t.same(outbox, [], 'nothing to relay');
  t.same(live, [undefined], 'one live state per write');
});

t.test('a change without a write (every event dropped) still records its applied ids', async (t) => {
  const batch = new CommitBatch(SHARD);
  batch.add({ outbox: [], scheduleTimers: [], cancelTimers: [], appliedEventIds: [], droppedEventIds: ['lost'] }, true);
  const { commit } = batch.request(1, []);
  t.same(commit.writes, []);
  t.equal(batch.current(job), undefined);
});
