/**
 * Which task views a job watch re-reads on one poll. Only tasks that can
 * still change are read (final states never change), only the first
 * {@link MAX_STREAM_TASKS} of a job are followed at all, and no more than
 * {@link TASK_READS_PER_POLL} per poll: tasks last seen active (their live
 * feedback moves) come first, then tasks never read yet (the job just
 * planned them), and pending ones take turns with what budget is left.
 */
import { stringOf, type JsonObject } from '../../shared/json.js';

/** A stream follows a job's tasks `0 … 999`, as the results and output routes read them. */
export const MAX_STREAM_TASKS = 1_000;

/** Task views read per poll of one job, after its first full read. */
export const TASK_READS_PER_POLL = 250;

/** Task states after which a task view no longer changes. */
const FINAL_TASK_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

export function isFinalTask(task: JsonObject | undefined): boolean {
  return task !== undefined && FINAL_TASK_STATUSES.has(stringOf(task.status));
}

/** A task already dispatched: its output tail and progress change between polls. */
function isActiveTask(task: JsonObject): boolean {
  return !isFinalTask(task) && stringOf(task.status) !== 'pending';
}

/**
 * Indices to read this poll. `known` holds the last view of each followed
 * task (missing: not read yet, or not created yet); `cursor` rotates through
 * the idle ones across polls and is returned advanced.
 */
export function planTaskReads(
  total: number,
  known: ReadonlyMap<number, JsonObject>,
  cursor: number,
  budget: number = TASK_READS_PER_POLL,
): { indices: number[]; cursor: number } {
  const followed = Math.min(total, MAX_STREAM_TASKS);
  const active: number[] = [];
  const unseen: number[] = [];
  const idle: number[] = [];
  for (let index = 0; index < followed; index += 1) {
    const task = known.get(index);
    if (task === undefined) unseen.push(index);
    else if (isActiveTask(task)) active.push(index);
    else if (!isFinalTask(task)) idle.push(index);
  }
  if (active.length + unseen.length + idle.length <= budget) return { indices: [...active, ...unseen, ...idle], cursor: 0 };
  const picked = [...active, ...unseen].slice(0, budget);
  const room = budget - picked.length;
  if (room <= 0 || idle.length === 0) return { indices: picked, cursor };
  const start = cursor % idle.length;
  for (let i = 0; i < Math.min(room, idle.length); i += 1) picked.push(idle[(start + i) % idle.length] as number);
  return { indices: picked, cursor: (start + room) % idle.length };
}

/** Every followed task that can still change: the full read on first use and when the job ends. */
export function unfinishedTasks(total: number, known: ReadonlyMap<number, JsonObject>): number[] {
  const followed = Math.min(total, MAX_STREAM_TASKS);
  const indices: number[] = [];
  for (let index = 0; index < followed; index += 1) if (!isFinalTask(known.get(index))) indices.push(index);
  return indices;
}
