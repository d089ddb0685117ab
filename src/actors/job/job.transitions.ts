import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { JobContext } from './job.logic.js';

// Transition configs the job machine spreads into several states, and the
// small reads of its context its actions share. Only named actions and
// guards, so they type-check wherever they are spread.

/** Checked after every event in `queued` and `running`: end as soon as the outcome is decided. */
export function decidedOutcomeTransitions() {
  return [
    { guard: 'outcomeIsCompleted', target: '#job.completed' },
    { guard: 'outcomeIsPartial', target: '#job.partial' },
    { guard: 'outcomeIsFailed', target: '#job.failed' },
  ] as const;
}

/** A task's final report, alone or folded with others in a row (`job.tasks_finished`), counted by `recordTaskReports` until the job ends. */
export function taskReportHandlers() {
  return {
    'job.task_finished': { guard: 'isUnreportedTask', actions: 'recordTaskReports' },
    'job.tasks_finished': { actions: 'recordTaskReports' },
  } as const;
}

/** What a terminal job still answers; everything else is ignored. */
export function lateMessageHandlers() {
  return {
    'job.hold_placed': { guard: 'isUnansweredHold', actions: 'releaseLateHold' },
    'job.planned': { guard: 'isUnplanned', actions: 'cancelLatePlannedTasks' },
  } as const;
}

/** The job's task requirements as submitted: with the task count, they name the job's ready-queue range. */
export function requirementsOf(context: JobContext): JsonValue {
  return context.spec.requirements ?? null;
}

/** How a dependent hears this job's end: only `completed` satisfies a dependency. */
export function dependencyAnswer(context: JobContext): JsonObject & { type: string } {
  return context.status === 'completed'
    ? { type: 'job.dependency_completed', jobId: context.jobId }
    : { type: 'job.dependency_failed', jobId: context.jobId, status: context.status ?? 'unknown' };
}
