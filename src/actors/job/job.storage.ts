import type { ContextStorage } from '../runtime/context-storage.js';

/**
 * How a job's context is stored: `taskOutcomes` (one character per task) as
 * runs, `taskOutcomeRuns: "2121s879."` — 2121 tasks succeeded, then 879
 * unfinished. Tasks mostly end in about the order they were queued, so a
 * 10,000-task job's 10 KB string is a few dozen bytes, and the job is
 * rewritten with every batch of reports. Snapshots stored in full still load.
 */
export const jobContextStorage: ContextStorage = {
  compact(context) {
    const { taskOutcomes, ...rest } = context;
    return typeof taskOutcomes === 'string' ? { ...rest, taskOutcomeRuns: encodeRuns(taskOutcomes) } : context;
  },
  expand(stored) {
    const { taskOutcomeRuns, ...rest } = stored;
    if (typeof taskOutcomeRuns !== 'string') return stored;
    return { ...rest, taskOutcomes: decodeRuns(taskOutcomeRuns) };
  },
};

/** `"sss..f"` → `"3s2.1f"`. Outcome characters are never digits. */
export function encodeRuns(outcomes: string): string {
  let encoded = '';
  let start = 0;
  for (let i = 1; i <= outcomes.length; i++) {
    if (i < outcomes.length && outcomes[i] === outcomes[start]) continue;
    encoded += `${i - start}${outcomes[start]}`;
    start = i;
  }
  return encoded;
}

export function decodeRuns(runs: string): string {
  let decoded = '';
  for (const [, count, char] of runs.matchAll(/(\d+)(\D)/g)) decoded += (char as string).repeat(Number(count));
  return decoded;
}
