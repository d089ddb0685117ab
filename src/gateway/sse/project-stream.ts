/**
 * `GET /api/v1/projects/:name/stream`: `snapshot` with the project's newest
 * jobs, then `job` frames for changes and for newly submitted jobs, `ping`
 * when idle. The server ends the stream after its maximum duration with a
 * `timeout` frame, so clients know to reconnect rather than to stop.
 */
import type { FastifyReply } from 'fastify';
import type { JsonObject } from '../../shared/json.js';
import { FrameGate } from './frame-gate.js';
import { ProjectFeed, type ProjectFeedDeps } from './project-feed.js';
import { openConnection, type StreamContext, type StreamSettings } from './stream-context.js';

/** A project stream ends after one hour at most (reference: "Reconnect after 1h timeout"). */
export const MAX_PROJECT_STREAM_MS = 60 * 60 * 1000;

export interface ProjectStreamSettings extends StreamSettings {
  readonly maxDurationMs: number;
}

/** Streams `project` of `accountId`, which the caller has already found to exist. */
export async function streamProject(
  context: StreamContext,
  feedDeps: ProjectFeedDeps,
  reply: FastifyReply,
  settings: ProjectStreamSettings,
  accountId: string,
  project: string,
): Promise<void> {
  // Job frames wait behind the gate until the snapshot is queued.
  const gate = new FrameGate<JsonObject>((frame) => void connection.send('job', frame));
  const feed = new ProjectFeed(feedDeps, accountId, project, (frame) => gate.push(frame));
  let jobs: JsonObject[];
  try {
    jobs = await feed.start();
  } catch (error) {
    feed.stop();
    throw error;
  }

  const connection = openConnection(context, reply, settings);
  const timer = setTimeout(() => {
    feed.stop();
    void connection.end('timeout', { reason: 'max_duration', max_duration_ms: settings.maxDurationMs, reconnect: true });
  }, settings.maxDurationMs);
  connection.onClose(() => {
    clearTimeout(timer);
    feed.stop();
  });
  const first = connection.send('snapshot', { project, jobs });
  gate.open();
  await first;
}
