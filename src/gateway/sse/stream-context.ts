/**
 * What every job stream of one gateway shares: the job poller, the set of
 * open streams (ended on shutdown) and the reader.
 */
import type { FastifyReply } from 'fastify';
import type { JobReader } from '../jobs/job-reader.js';
import type { JobWatchHub } from './job-watch-hub.js';
import { SseConnection, type OpenStreams } from './sse-connection.js';

export interface StreamContext {
  readonly reader: JobReader;
  readonly hub: JobWatchHub;
  readonly streams: OpenStreams;
}

/** Per-request stream settings, already bounded by the route's schema. */
export interface StreamSettings {
  readonly pingIntervalMs: number;
}

/** Commits the response to SSE; call only once nothing can fail with a JSON error any more. */
export function openConnection(context: StreamContext, reply: FastifyReply, settings: StreamSettings): SseConnection {
  return new SseConnection(reply, { pingIntervalMs: settings.pingIntervalMs, streams: context.streams });
}
