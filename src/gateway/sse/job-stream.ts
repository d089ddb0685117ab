/**
 * `GET /api/v1/jobs/:id/stream`: `snapshot` (job + first 1000 tasks), the
 * recent event-log lines as `event` frames, then `task`, `event` and `job`
 * deltas, and `done` once the job is terminal, after which the response ends.
 */
import type { FastifyReply } from 'fastify';
import { FrameGate } from './frame-gate.js';
import type { JobWatchChange } from './job-watch.js';
import { openConnection, type StreamContext, type StreamSettings } from './stream-context.js';

/**
 * Streams one job of `accountId`. Throws 404 `job_not_found` (as JSON, no
 * stream) for a missing job or another account's; returns once the first
 * frame is written.
 */
export async function streamJob(context: StreamContext, reply: FastifyReply, settings: StreamSettings, accountId: string, jobId: string): Promise<void> {
  // Changes wait behind the gate until the snapshot is queued: `forward` never runs before `connection` exists.
  const gate = new FrameGate<JobWatchChange>((change) => forward(change));
  const subscription = await context.hub.subscribe(accountId, jobId, { tasks: true, events: true }, (change) => gate.push(change));

  const connection = openConnection(context, reply, settings);
  connection.onClose(subscription.unsubscribe);
  const { snapshot } = subscription;
  const first = connection.send('snapshot', {
    job: snapshot.job,
    tasks: [...snapshot.tasks],
    task_total: snapshot.taskTotal,
    tasks_truncated: snapshot.taskTotal > snapshot.tasks.length,
  });
  for (const event of snapshot.events) void connection.send('event', event);
  if (snapshot.ended) void connection.end('done', { job_ids: [jobId] });
  else gate.open();
  await first;

  function forward(change: JobWatchChange): void {
    switch (change.kind) {
      case 'job':
      case 'task':
      case 'event':
        void connection.send(change.kind, change.frame);
        return;
      case 'end':
        subscription.unsubscribe();
        void connection.end('done', change.reason === 'gone' ? { job_ids: [jobId], gone: [jobId] } : { job_ids: [jobId] });
        return;
    }
  }
}
