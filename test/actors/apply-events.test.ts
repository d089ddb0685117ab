/**
 * `applyEventsToEntity` folds a kind's `batchedEvents` in a row into one
 * machine step: what a job with hundreds of task reports per batch commits.
 */
import t from 'tap';
import { actorKinds } from '../../src/actors/index.js';
import { applyEventsToEntity } from '../../src/actors/runtime/apply-events.js';
import { ActorRouter } from '../../src/actors/runtime/index.js';
import type { JobContext } from '../../src/actors/job/job.logic.js';
import type { PersistedActorState } from '../../src/actors/runtime/actor-kind.js';
import type { MailboxMessage, StoredEntity } from '../../src/store/store.js';

const JOB = 'job_20260312_143000_abc123';
const T0 = 1_700_000_000_000;
const router = new ActorRouter(actorKinds, 16);
const jobRef = { kind: 'job', id: JOB };

function message(eventId: string, event: Record<string, unknown>): MailboxMessage {
  return router.message(jobRef, event as never, eventId);
}

function report(index: number, at: number): MailboxMessage {
  return message(`report-${index}`, {
    type: 'job.task_finished',
    at,
    taskId: `${JOB}.t${index}`,
    index,
    outcome: 'succeeded',
    attempts: 1,
    runtimeMs: 5,
    startedAt: at - 1,
    resultQuality: null,
    error: null,
  });
}

/** A job planned with `taskCount` tasks, as stored after its first commit. */
function plannedJob(taskCount: number): StoredEntity {
  const created = applyEventsToEntity(router, jobRef, null, [
    message('submit', { type: 'job.submit', at: T0, accountId: 'acct_1', jobType: 'structured_runner', spec: {} }),
    message('planned', { type: 'job.planned', at: T0 + 1, taskCount }),
  ]);
  if (!created.write) throw new Error('job not created');
  return { ref: jobRef, version: 1, snapshot: created.write.snapshot };
}

t.test('task reports in a row are one step; every message is recorded applied', async (t) => {
  const stored = plannedJob(3);
  const change = applyEventsToEntity(router, jobRef, stored, [report(0, T0 + 10), report(1, T0 + 11), report(2, T0 + 12)]);
  t.same(change.appliedEventIds, ['report-0', 'report-1', 'report-2']);
  const state = change.write?.snapshot as unknown as PersistedActorState;
  t.equal(state.value, 'completed');
  const context = state.context as unknown as JobContext;
  t.same(context.counts, { succeeded: 3, failed: 0, cancelled: 0, timedOut: 0 });
  t.equal(context.finishedAt, T0 + 12);
  // One step: the log has one line, queued → completed, caused by the folded event.
  t.same(
    change.write?.log?.map((line) => [line.type, line.data]),
    [['job.tasks_finished', { from: { queued: 'ready' }, to: 'completed' }]],
  );
  // Effects of the folded step derive their ids from its first message.
  t.ok(change.outbox.length > 0);
  for (const item of change.outbox) {
    const id = item.kind === 'effect' ? item.effectId : item.message.eventId;
    t.match(id, /^report-0\//);
  }
});

t.test('other events split the runs; a lone report steps alone', async (t) => {
  const stored = plannedJob(4);
  const change = applyEventsToEntity(router, jobRef, stored, [
    report(0, T0 + 10),
    message('dependent', { type: 'job.dependent_registered', at: T0 + 11, jobId: 'job_20260312_150000_dep001' }),
    report(1, T0 + 12),
    report(2, T0 + 13),
  ]);
  t.same(change.appliedEventIds, ['report-0', 'dependent', 'report-1', 'report-2']);
  const context = (change.write?.snapshot as unknown as PersistedActorState).context as unknown as JobContext & { taskOutcomeRuns: string };
  t.equal(context.counts.succeeded, 3);
  t.same(context.dependents, ['job_20260312_150000_dep001']);
  t.equal(context.taskOutcomeRuns, '3s1.', 'stored as runs (job.storage.ts)');
  t.same(
    change.write?.log?.map((line) => line.type),
    ['job.task_finished'],
    'the first report alone moved the job to running',
  );
});
