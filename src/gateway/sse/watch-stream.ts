/**
 * `GET /api/v1/jobs/watch?ids=…`: one `job` frame per job with its current
 * state, then a `job` frame whenever one changes (terminal ones carry the
 * result surface), `ping` when idle, and `done` once every job is terminal.
 */
import type { FastifyReply } from 'fastify';
import { ComputalotError, ValidationError } from '../../shared/errors.js';
import { FrameGate } from './frame-gate.js';
import type { JobWatchChange } from './job-watch.js';
import type { JobWatchSubscription } from './job-watch-hub.js';
import { openConnection, type StreamContext, type StreamSettings } from './stream-context.js';

export const MIN_WATCH_IDS = 2;
export const MAX_WATCH_IDS = 100;

/**
 * The distinct ids of `?ids=a,b,c`; 422 `validation_failed` unless there are
 * 2–100 of them (a repeated id counts once).
 */
export function parseWatchIds(raw: string): string[] {
  const ids = [...new Set(raw.split(',').map((id) => id.trim()).filter((id) => id !== ''))];
  if (ids.length < MIN_WATCH_IDS || ids.length > MAX_WATCH_IDS) {
    throw new ValidationError(`ids must name ${MIN_WATCH_IDS} to ${MAX_WATCH_IDS} distinct jobs; got ${ids.length}`, {
      details: { field: 'ids', count: ids.length, min: MIN_WATCH_IDS, max: MAX_WATCH_IDS },
    });
  }
  return ids;
}

/**
 * Streams the jobs `ids` of `accountId`. If any of them is missing or
 * another account's, answers 404 `job_not_found` naming them (as JSON, no
 * stream), so a watch never half-starts.
 */
export async function streamWatch(context: StreamContext, reply: FastifyReply, settings: StreamSettings, accountId: string, ids: readonly string[]): Promise<void> {
  const views = await context.reader.jobsByIds(accountId, ids);
  const missing = ids.filter((_, i) => views[i] === null);
  if (missing.length > 0) {
    throw new ComputalotError('job_not_found', 404, `job ${missing.join(', ')} not found`, { details: { missing } });
  }

  // Changes wait behind the gate until every job's first frame is queued.
  const gate = new FrameGate<{ id: string; change: JobWatchChange }>(({ id, change }) => forward(id, change));
  const settled = await Promise.allSettled(ids.map((id) => context.hub.subscribe(accountId, id, { tasks: false, events: false }, (change) => gate.push({ id, change }))));
  const subscriptions = new Map<string, JobWatchSubscription>();
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') subscriptions.set(ids[i] as string, result.value);
  });
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    // A job vanished between the check and the subscription.
    for (const subscription of subscriptions.values()) subscription.unsubscribe();
    throw failed.reason;
  }

  const connection = openConnection(context, reply, settings);
  const unsubscribeAll = () => {
    for (const subscription of subscriptions.values()) subscription.unsubscribe();
  };
  connection.onClose(unsubscribeAll);
  const live = new Set<string>();
  const gone: string[] = [];
  let first: Promise<void> | undefined;
  for (const id of ids) {
    const subscription = subscriptions.get(id);
    if (subscription === undefined) continue;
    const sent = connection.send('job', subscription.snapshot.job);
    first ??= sent;
    if (!subscription.snapshot.ended) live.add(id);
  }
  if (live.size === 0) void connection.end('done', { job_ids: [...ids] });
  else gate.open();
  await first;

  function forward(id: string, change: JobWatchChange): void {
    if (change.kind === 'job') void connection.send('job', change.frame);
    if (change.kind !== 'end' || !live.delete(id)) return;
    if (change.reason === 'gone') gone.push(id);
    subscriptions.get(id)?.unsubscribe();
    if (live.size > 0) return;
    unsubscribeAll();
    void connection.end('done', gone.length > 0 ? { job_ids: [...ids], gone } : { job_ids: [...ids] });
  }
}
