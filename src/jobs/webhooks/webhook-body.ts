/**
 * What a `callback_url` receives when its job ends: the reference's
 * `{event, job_id, status, project, type, output, error, tags, progress,
 * completed_at}` plus `client_ref`, `recommended_action`, task counts and
 * whether `output` was cut. Built once, when the delivery is enqueued, and
 * stored with it: every attempt sends the same bytes.
 */
import { createHash } from 'node:crypto';
import { taskIdOf, taskRef } from '../../actors/shared/ids.js';
import type { JsonObject, JsonValue } from '../../shared/json.js';
import { COMPUTALOT_VERSION } from '../../shared/version.js';
import type { EntityRef } from '../../store/store.js';
import type { JobTerminalNotice } from '../job-terminal.js';

/** The one event webhooks carry today (api-details §5.7 proposal). */
export const WEBHOOK_EVENT = 'job.terminal';

/** Cap on `output`, in characters; the whole output stays at `GET /api/v1/jobs/:id/output`. */
export const WEBHOOK_OUTPUT_MAX_CHARS = 10_240;

/** Tasks read for `output`, like the output endpoint; read in chunks so a short output stops early. */
const OUTPUT_MAX_TASKS = 1_000;
const OUTPUT_READ_CHUNK = 100;

/** Reads public views of entities on any shard (`ControllerNode.readModels`). */
export type ReadModels = (refs: readonly EntityRef[]) => Promise<(JsonValue | null)[]>;

/**
 * Stable per terminal job: derived from the effect id, which a retried effect
 * keeps. Sent as `x-computalot-delivery` so receivers can drop duplicates.
 */
export function deliveryIdOf(effectId: string): string {
  return `whd_${createHash('sha256').update(effectId).digest('hex').slice(0, 32)}`;
}

/** Headers of every attempt; `attempt` counts from 1. */
export function webhookHeaders(deliveryId: string, attempt: number): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': `computalot-webhook/${COMPUTALOT_VERSION}`,
    'x-computalot-event': WEBHOOK_EVENT,
    'x-computalot-delivery': deliveryId,
    'x-computalot-attempt': String(attempt),
  };
}

/**
 * The body. `progress` is the same number as the job's `summary.progress`:
 * finished tasks / total, 0–1 (null for a job that never planned tasks);
 * `tasks` has the counts behind it.
 */
export async function buildWebhookBody(notice: JobTerminalNotice, readModels: ReadModels): Promise<JsonObject> {
  const { total, succeeded, failed, cancelled, timedOut } = notice.tasks;
  const finished = succeeded + failed + cancelled + timedOut;
  const { output, truncated } = await jobOutput(notice.jobId, total, readModels);
  return {
    event: WEBHOOK_EVENT,
    job_id: notice.jobId,
    status: notice.status,
    project: notice.project,
    type: notice.type,
    output,
    error: notice.error,
    tags: [...notice.tags],
    progress: total === 0 ? null : finished / total,
    completed_at: new Date(notice.completedAt).toISOString(),
    client_ref: notice.clientRef,
    recommended_action: notice.recommendedAction,
    tasks: { total, finished, succeeded, failed, cancelled, timed_out: timedOut },
    output_truncated: truncated,
  };
}

/**
 * The job's output as `GET /api/v1/jobs/:id/output` joins it — a single
 * task's text as is, several each under a `── <task id> ──` line — cut at
 * {@link WEBHOOK_OUTPUT_MAX_CHARS}, keeping the beginning.
 */
async function jobOutput(jobId: string, total: number, readModels: ReadModels): Promise<{ output: string; truncated: boolean }> {
  const parts: string[] = [];
  let length = 0;
  const end = Math.min(total, OUTPUT_MAX_TASKS);
  for (let start = 0; start < end && length <= WEBHOOK_OUTPUT_MAX_CHARS; start += OUTPUT_READ_CHUNK) {
    const ids = Array.from({ length: Math.min(OUTPUT_READ_CHUNK, end - start) }, (_, i) => taskIdOf(jobId, start + i));
    const models = await readModels(ids.map(taskRef));
    models.forEach((model, i) => {
      const text = outputTail(model);
      if (text === null) return;
      const part = total === 1 ? text : `── ${ids[i]} ──\n${text}`;
      parts.push(part);
      length += part.length + 1;
    });
  }
  const output = parts.join('\n');
  const truncated = output.length > WEBHOOK_OUTPUT_MAX_CHARS || total > OUTPUT_MAX_TASKS;
  return { output: output.slice(0, WEBHOOK_OUTPUT_MAX_CHARS), truncated };
}

function outputTail(model: JsonValue | null): string | null {
  if (model === null || typeof model !== 'object' || Array.isArray(model)) return null;
  const feedback = model.live_feedback;
  if (feedback === null || typeof feedback !== 'object' || Array.isArray(feedback)) return null;
  return typeof feedback.output_tail === 'string' ? feedback.output_tail : null;
}
