import type { JobTaskFinishedEvent } from './job.events.js';
import { LOW_QUALITY_THRESHOLD, MAX_SUSPECT_IDS, OUTCOME_CHAR, UNFINISHED, isUnreportedIndex, type JobContext, type TaskCounts } from './job.logic.js';

/**
 * Folds tasks' final reports into the job's counts, in order. A report for an
 * index that already reported (before, or earlier in `reports`) or that is no
 * task of this job counts for nothing. One fold for a whole batch, so a
 * 10,000-task job rewrites its outcome string once per batch, not per task.
 */
export function recordTaskReports(context: JobContext, reports: readonly JobTaskFinishedEvent[]): Partial<JobContext> {
  const counts: TaskCounts = { ...context.counts };
  const outcomes = new Map<number, string>();
  const isUnreported = (index: number): boolean =>
    !outcomes.has(index) && isUnreportedIndex(context.taskCount, context.taskOutcomes, index);
  let { startedAt, runtimeMs, qualitySum, qualityCount, lowQualityCount, suspectTaskIds, firstTaskError } = context;
  let anyStart = false;

  for (const report of reports) {
    if (!isUnreported(report.index)) continue;
    outcomes.set(report.index, OUTCOME_CHAR[report.outcome]);

    if (report.outcome === 'succeeded') counts.succeeded += 1;
    else if (report.outcome === 'failed') counts.failed += 1;
    else if (report.outcome === 'cancelled') counts.cancelled += 1;
    else counts.timedOut += 1;

    const quality = report.outcome === 'succeeded' && typeof report.resultQuality === 'number' ? report.resultQuality : null;
    const lowQuality = quality !== null && quality < LOW_QUALITY_THRESHOLD;
    if (lowQuality && suspectTaskIds.length < MAX_SUSPECT_IDS) suspectTaskIds = [...suspectTaskIds, report.taskId];
    qualitySum += quality ?? 0;
    qualityCount += quality === null ? 0 : 1;
    lowQualityCount += lowQuality ? 1 : 0;
    runtimeMs += Math.max(0, report.runtimeMs);
    if (firstTaskError === null && report.outcome !== 'succeeded' && report.error !== null) firstTaskError = { taskId: report.taskId, error: report.error };

    // A task whose start was folded into its result reports the start here (no `job.task_started` came).
    if (typeof report.startedAt === 'number') {
      anyStart = true;
      if (context.startedAt === null && (startedAt === null || report.startedAt < startedAt)) startedAt = report.startedAt;
    }
  }

  if (outcomes.size === 0) return {};
  return {
    ...(anyStart && !context.anyTaskStarted ? { anyTaskStarted: true } : {}),
    startedAt,
    counts,
    taskOutcomes: withOutcomes(context.taskOutcomes, outcomes),
    runtimeMs,
    qualitySum,
    qualityCount,
    lowQualityCount,
    suspectTaskIds,
    firstTaskError,
  };
}

/** `outcomes` with the characters at the given indexes replaced, padded with `.` where needed: slices, not one string per character. */
function withOutcomes(outcomes: string, edits: ReadonlyMap<number, string>): string {
  const indexes = [...edits.keys()].sort((a, b) => a - b);
  const padded = outcomes.padEnd((indexes[indexes.length - 1] as number) + 1, UNFINISHED);
  let result = '';
  let from = 0;
  for (const index of indexes) {
    result += padded.slice(from, index) + (edits.get(index) as string);
    from = index + 1;
  }
  return result + padded.slice(from);
}
