import { JOB_TERMINAL_STATUSES } from '../actors/job/job.events.js';
import type { JsonObject } from '../shared/json.js';

/**
 * What the job machine declares when it ends (`job.terminal` effect data):
 * the facts webhooks, streams and retention act on. Built by the machine's
 * `declareTerminalEffects`; read back here with defaults so an older
 * persisted effect still parses.
 */
export interface JobTerminalNotice {
  readonly jobId: string;
  readonly accountId: string;
  readonly status: 'completed' | 'partial' | 'failed' | 'cancelled';
  readonly project: string | null;
  readonly type: string;
  readonly error: string | null;
  readonly recommendedAction: string | null;
  readonly tags: readonly string[];
  readonly clientRef: string | null;
  readonly callbackUrl: string | null;
  /** Epoch ms. */
  readonly completedAt: number;
  readonly tasks: { readonly total: number; readonly succeeded: number; readonly failed: number; readonly cancelled: number; readonly timedOut: number };
}

/**
 * Something that reacts to a job's end. Called at least once per terminal
 * job (the effect is retried until every listener resolves), so listeners
 * must be idempotent; `effectId` is stable across retries.
 */
export type JobTerminalListener = (notice: JobTerminalNotice, effectId: string) => Promise<void>;

const STATUSES: ReadonlySet<string> = new Set(JOB_TERMINAL_STATUSES);

export function readTerminalNotice(data: JsonObject): JobTerminalNotice | null {
  const jobId = typeof data.jobId === 'string' ? data.jobId : null;
  const accountId = typeof data.accountId === 'string' ? data.accountId : null;
  const status = typeof data.status === 'string' && STATUSES.has(data.status) ? (data.status as JobTerminalNotice['status']) : null;
  if (jobId === null || accountId === null || status === null) return null;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  const tasks = (data.tasks ?? {}) as JsonObject;
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return {
    jobId,
    accountId,
    status,
    project: text(data.project),
    type: text(data.type) ?? 'structured_runner',
    error: text(data.error),
    recommendedAction: text(data.recommendedAction),
    tags: Array.isArray(data.tags) ? data.tags.filter((tag): tag is string => typeof tag === 'string') : [],
    clientRef: text(data.clientRef),
    callbackUrl: text(data.callbackUrl),
    completedAt: count(data.completedAt),
    tasks: { total: count(tasks.total), succeeded: count(tasks.succeeded), failed: count(tasks.failed), cancelled: count(tasks.cancelled), timedOut: count(tasks.timedOut) },
  };
}
