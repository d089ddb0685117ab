import type { EntityRef } from '../../store/store.js';

/**
 * Entity ids and refs shared by the four machines. A task id embeds its job id
 * (`<jobId>.t<index>`) so a job can address all of its tasks without storing
 * their ids, and so a task routes to its job's shard; an attempt id embeds its
 * task id (`<taskId>.a<n>`) so a result names exactly one attempt.
 */

/** The entity kinds this folder registers with the runtime. */
export const ENTITY_KIND = {
  job: 'job',
  task: 'task',
  worker: 'worker',
  account: 'account',
} as const;

export function taskIdOf(jobId: string, index: number): string {
  return `${jobId}.t${index}`;
}

export function attemptIdOf(taskId: string, attempt: number): string {
  return `${taskId}.a${attempt}`;
}

const TASK_ID = /^(.+)\.t(0|[1-9]\d*)$/;

/** Splits a task id into its job id and index; `undefined` when it is not one. */
export function parseTaskId(taskId: string): { jobId: string; index: number } | undefined {
  const match = TASK_ID.exec(taskId);
  if (!match) return undefined;
  return { jobId: match[1] as string, index: Number(match[2]) };
}

export function jobRef(id: string): EntityRef {
  return { kind: ENTITY_KIND.job, id };
}

export function taskRef(id: string): EntityRef {
  return { kind: ENTITY_KIND.task, id };
}

export function workerRef(id: string): EntityRef {
  return { kind: ENTITY_KIND.worker, id };
}

export function accountRef(id: string): EntityRef {
  return { kind: ENTITY_KIND.account, id };
}

/** Epoch ms → ISO 8601, or null; read models show times the way the API does. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
