import { JOB_EFFECT } from '../actors/job/job.events.js';
import { UNFINISHED } from '../actors/job/job.logic.js';
import { jobRef, taskIdOf, taskRef } from '../actors/shared/ids.js';
import type { ControllerNode, EffectHandler } from '../actors/runtime/index.js';
import { stringOf, type JsonObject } from '../shared/json.js';
import type { MailboxMessage, Store } from '../store/store.js';
import { readTerminalNotice, type JobTerminalListener } from '../jobs/job-terminal.js';
import { JobSpecStore } from '../jobs/job-spec-store.js';
import { taskCreateEvent, taskTemplate, TaskPlans } from '../jobs/task-plan.js';
import { planTasks } from './plan-tasks.js';
import { ReadyQueues } from './ready-queue.js';

/** Member group agents heartbeat into: "is there live capacity anywhere?" */
export const AGENT_GROUP = 'agents';

/** Messages per mailbox append when fanning out to a job's tasks. */
const SEND_CHUNK = 1_000;

/**
 * Handlers for the job machine's effects that concern its tasks. A job's
 * tasks are not created by planning: the plan is checked and counted and the
 * job queued as one ready-queue range; the scheduler creates each task as it
 * dispatches it (see `src/jobs/task-plan.ts`). Ids of the messages derive
 * from the effect id, so a replayed effect re-sends the same events and the
 * tasks apply each once.
 */
export function jobEffectHandlers(
  node: ControllerNode,
  store: Store,
  terminalListeners: readonly JobTerminalListener[] = [],
  queues: ReadyQueues = new ReadyQueues(store),
): Map<string, EffectHandler> {
  const plans = TaskPlans.for(node, store);
  const sendChunked = async (messages: MailboxMessage[]) => {
    for (let i = 0; i < messages.length; i += SEND_CHUNK) await node.send(messages.slice(i, i + SEND_CHUNK));
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
        const priority = stringOf(data.priority, 'normal');
        const createdAt = typeof data.createdAt === 'number' ? data.createdAt : effect.at;
        plans.remember({ template: taskTemplate(jobId, spec, data.timeoutS as number, priority, createdAt), payloads: outcome.payloads });
        // The submission is stored, so every task's input is: the tasks are
        // queued as one range, and `job.planned` follows (the job counts them).
        if (data.blocked !== true) await queues.enqueueJob(jobId, outcome.payloads.length, spec.requirements ?? null, priority, effect.at);
        await node.send([node.message(jobRef(jobId), { type: 'job.planned', taskCount: outcome.payloads.length }, `${effect.effectId}/planned`)]);
      },
    ],
    [
      JOB_EFFECT.cancelTasks,
      async (effect) => {
        const data = effect.data as JsonObject;
        const jobId = data.jobId as string;
        // Nothing more is taken from the job's range; only tasks handed out before can exist.
        const handedOut = await queues.closeJob(jobId, Number(data.taskCount ?? 0), data.requirements ?? null);
        if (handedOut === 0) return;
        const plan = await plans.of(jobId);
        const reason = stringOf(data.reason, 'job cancelled');
        const outcomes = stringOf(data.taskOutcomes);
        const messages: MailboxMessage[] = [];
        for (let index = 0; index < handedOut; index++) {
          if ((outcomes[index] ?? UNFINISHED) !== UNFINISHED) continue; // it ended already
          const task = taskRef(taskIdOf(jobId, index));
          // A task handed out but not created yet (its dispatch commit still
          // on the way) is created here, blocked, and cancelled: the late
          // dispatch then finds it ended. Existing tasks ignore the create.
          const payload = plan?.payloads[index];
          if (plan && payload !== undefined) messages.push(node.message(task, taskCreateEvent(plan.template, index, payload, 'blocked'), `${effect.effectId}/c${index}`));
          messages.push(node.message(task, { type: 'task.cancel', reason }, `${effect.effectId}/t${index}`));
        }
        await sendChunked(messages);
      },
    ],
    [
      JOB_EFFECT.releaseTasks,
      async (effect) => {
        const data = effect.data as JsonObject;
        await queues.enqueueJob(data.jobId as string, Number(data.taskCount ?? 0), data.requirements ?? null, stringOf(data.priority, 'normal'), effect.at);
      },
    ],
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
        // Tasks handed out whose dispatch commit never came (a controller
        // stopped in between) are created as waiting tasks: they queue
        // themselves. One still on its way finds its task there and takes it.
        const lost = await lostTasks(node, jobId, await queues.handedOut(jobId, taskCount, data.requirements ?? null));
        const plan = lost.length > 0 ? await plans.of(jobId) : null;
        if (plan === null) return;
        await sendChunked(lost.map((index) => node.message(taskRef(taskIdOf(jobId, index)), taskCreateEvent(plan.template, index, plan.payloads[index] ?? null, 'ready'), `${effect.effectId}/r${index}`)));
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

/** Indexes below `handedOut` whose task does not exist. */
async function lostTasks(node: ControllerNode, jobId: string, handedOut: number): Promise<number[]> {
  const lost: number[] = [];
  for (let start = 0; start < handedOut; start += SEND_CHUNK) {
    const refs = Array.from({ length: Math.min(SEND_CHUNK, handedOut - start) }, (_, i) => taskRef(taskIdOf(jobId, start + i)));
    (await node.readModels(refs)).forEach((view, i) => view === null && lost.push(start + i));
  }
  return lost;
}

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
