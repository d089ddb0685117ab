import type { JobTaskFinishedEvent } from './job.events.js';
import { LOW_QUALITY_THRESHOLD, MAX_SUSPECT_IDS, withTaskOutcome, type JobContext, type TaskCounts } from './job.logic.js';

/**
 * Folds one task's final report into the job's counts. The caller has checked
 * (guard `isUnreportedTask`) that this index has not reported before.
 */
export function recordTaskFinished(context: JobContext, event: JobTaskFinishedEvent): Partial<JobContext> {
  const counts: TaskCounts = { ...context.counts };
  if (event.outcome === 'succeeded') counts.succeeded += 1;
  else if (event.outcome === 'failed') counts.failed += 1;
  else if (event.outcome === 'cancelled') counts.cancelled += 1;
  else counts.timedOut += 1;

  const quality = event.outcome === 'succeeded' && typeof event.resultQuality === 'number' ? event.resultQuality : null;
  const lowQuality = quality !== null && quality < LOW_QUALITY_THRESHOLD;
  const suspectTaskIds =
    lowQuality && context.suspectTaskIds.length < MAX_SUSPECT_IDS ? [...context.suspectTaskIds, event.taskId] : context.suspectTaskIds;

  // A task whose start was folded into its result reports the start here (no `job.task_started` came).
  const started = typeof event.startedAt === 'number';
  return {
    ...(started && !context.anyTaskStarted ? { anyTaskStarted: true } : {}),
    ...(started && context.startedAt === null ? { startedAt: event.startedAt } : {}),
    counts,
    taskOutcomes: withTaskOutcome(context.taskOutcomes, event.index, event.outcome),
    runtimeMs: context.runtimeMs + Math.max(0, event.runtimeMs),
    qualitySum: context.qualitySum + (quality ?? 0),
    qualityCount: context.qualityCount + (quality === null ? 0 : 1),
    lowQualityCount: context.lowQualityCount + (lowQuality ? 1 : 0),
    suspectTaskIds,
    firstTaskError:
      context.firstTaskError === null && event.outcome !== 'succeeded' && event.error !== null
        ? { taskId: event.taskId, error: event.error }
        : context.firstTaskError,
  };
}
