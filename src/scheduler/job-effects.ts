import { JOB_EFFECT } from '../actors/job/job.events.js';
import { jobRef, taskIdOf, taskRef } from '../actors/shared/ids.js';
import type { ControllerNode, EffectHandler, ExternalEffect } from '../actors/runtime/index.js';
import { stringOf, type JsonObject, type JsonValue } from '../shared/json.js';
import type { MailboxMessage, Store } from '../store/store.js';
import { readTerminalNotice, type JobTerminalListener } from '../jobs/job-terminal.js';
import { JobSpecStore } from '../jobs/job-spec-store.js';
import { planTasks } from './plan-tasks.js';

/** Member group agents heartbeat into: "is there live capacity anywhere?" */
export const AGENT_GROUP = 'agents';

/** Messages per mailbox append when fanning out to a job's tasks. */
const SEND_CHUNK = 1_000;
/**
 * Tasks created per commit when planning: large enough that a 10k-task job
 * is forty commits instead of ten thousand, small enough that one chunk's
 * transitions and encoding keep the event loop's delay under 50 ms.
 */
const CREATE_CHUNK = 250;

/**
 * Handlers for the job machine's effects that fan out to its tasks. Ids of
 * the messages derive from the effect id, so a replayed effect re-sends the
 * same events and the tasks apply each once.
 */
export function jobEffectHandlers(node: ControllerNode, store: Store, terminalListeners: readonly JobTerminalListener[] = []): Map<string, EffectHandler> {
  const sendChunked = async (messages: MailboxMessage[]) => {
    for (let i = 0; i < messages.length; i += SEND_CHUNK) await node.send(messages.slice(i, i + SEND_CHUNK));
  };
  const toEveryTask = (effect: ExternalEffect, event: JsonObject & { type: string }) => {
    const data = effect.data as JsonObject;
    const jobId = data.jobId as string;
    const count = Number(data.taskCount ?? 0);
    return Array.from({ length: count }, (_, i) => node.message(taskRef(taskIdOf(jobId, i)), event, `${effect.effectId}/t${i}`));
  };

  return new Map<string, EffectHandler>([
    [
      JOB_EFFECT.plan,
      async (effect) => {
        const data = effect.data as JsonObject;
        const jobId = data.jobId as string;
        // The job carries the compact submission; task inputs were stored apart at submit.
        const spec = await JobSpecStore.for(store).complete(jobId, (data.spec ?? {}) as JsonObject);
        const outcome = planTasks(data.jobType as string, spec);
        if (!outcome.ok) {
          await node.send([node.message(jobRef(jobId), { type: 'job.planning_failed', error: outcome.error }, `${effect.effectId}/failed`)]);
          return;
        }
        const creates = outcome.payloads.map((payload: JsonValue, index: number) =>
          node.message(
            taskRef(taskIdOf(jobId, index)),
            {
              type: 'task.create',
              jobId,
              index,
              payload,
              requirements: spec.requirements ?? null,
              timeoutS: data.timeoutS as number,
              maxRetries: typeof spec.max_retries === 'number' ? spec.max_retries : 0,
              priority: (data.priority as string) ?? 'normal',
              blocked: data.blocked === true,
            },
            `${effect.effectId}/t${index}`,
          ),
        );
        // A job's tasks live on its shard, which this controller owns while it
        // runs the job's effects: they are created by direct commits of
        // CREATE_CHUNK each, without a trip through the mailbox. Only then is
        // `job.planned` sent, so the job never counts a task that is not stored.
        // Two chunks in flight: one is built while the other commits.
        const chunks: MailboxMessage[][] = [];
        for (let i = 0; i < creates.length; i += CREATE_CHUNK) chunks.push(creates.slice(i, i + CREATE_CHUNK));
        const createChunks = async (): Promise<void> => {
          for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) await node.applyNow(chunk);
        };
        await Promise.all([createChunks(), createChunks()]);
        await node.send([node.message(jobRef(jobId), { type: 'job.planned', taskCount: creates.length }, `${effect.effectId}/planned`)]);
      },
    ],
    [JOB_EFFECT.cancelTasks, async (effect) => sendChunked(toEveryTask(effect, { type: 'task.cancel', reason: stringOf((effect.data as JsonObject).reason, 'job cancelled') }))],
    [JOB_EFFECT.releaseTasks, async (effect) => sendChunked(toEveryTask(effect, { type: 'task.release' }))],
    [
      JOB_EFFECT.checkCapacity,
      async (effect) => {
        const jobId = (effect.data as JsonObject).jobId as string;
        const now = await store.now();
        const liveCapacity = (await store.listMembers(AGENT_GROUP)).some((member) => member.expiresAt > now);
        await node.send([node.message(jobRef(jobId), { type: 'job.queue_timeout', liveCapacity }, `${effect.effectId}/answer`)]);
      },
    ],
    [
      JOB_EFFECT.reconcileTasks,
      async (effect) => {
        const data = effect.data as JsonObject;
        const jobId = data.jobId as string;
        const taskCount = Number(data.taskCount ?? 0);
        if (Number(data.finishedCount ?? 0) >= taskCount) return;
        const reports = await missedTaskReports(node, jobId, taskCount);
        // The job counts each task index once, so re-sending a report it already has is harmless.
        await sendChunked(reports.map(({ index, event }) => node.message(jobRef(jobId), event, `${effect.effectId}/t${index}`)));
      },
    ],
    [
      JOB_EFFECT.terminal,
      async (effect) => {
        const notice = readTerminalNotice(effect.data as JsonObject);
        if (notice === null) return;
        // Every listener runs even when one fails; the effect is retried (all of them, idempotently) if any did.
        const outcomes = await Promise.allSettled(terminalListeners.map((listener) => listener(notice, effect.effectId)));
        const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
        if (failure) throw failure.reason;
      },
    ],
  ]);
}

const TASK_OUTCOMES = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/**
 * Stuck-job recovery (the reference: running jobs with no active task are
 * recovered every 5 minutes): every finished task's report, rebuilt from its
 * read model. Task reports travel through the durable outbox, so this only
 * matters after a fault — a poisoned event, a store restored from an older
 * snapshot — but then it is what lets the job end instead of running forever.
 */
export async function missedTaskReports(node: ControllerNode, jobId: string, taskCount: number): Promise<{ index: number; event: JsonObject & { type: string } }[]> {
  const reports: { index: number; event: JsonObject & { type: string } }[] = [];
  for (let start = 0; start < taskCount; start += SEND_CHUNK) {
    const refs = Array.from({ length: Math.min(SEND_CHUNK, taskCount - start) }, (_, i) => taskRef(taskIdOf(jobId, start + i)));
    const views = (await node.readModels(refs)) as (JsonObject | null)[];
    views.forEach((view, i) => {
      if (view === null || !TASK_OUTCOMES.has(stringOf(view.status))) return;
      const index = start + i;
      reports.push({
        index,
        event: {
          type: 'job.task_finished',
          taskId: taskIdOf(jobId, index),
          index,
          outcome: stringOf(view.status),
          attempts: Array.isArray(view.attempts) ? view.attempts.length : 0,
          runtimeMs: Math.round(Number(view.runtime_s ?? 0) * 1000),
          resultQuality: typeof view.result_quality === 'number' ? view.result_quality : null,
          error: typeof view.error === 'string' ? view.error : null,
        },
      });
    });
  }
  return reports;
}
