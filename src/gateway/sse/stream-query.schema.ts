/**
 * Query strings of the SSE routes. The tuning knobs are bounded so a client
 * can shorten intervals for itself (tests, impatient UIs) but cannot make the
 * server ping in a busy loop or hold a project stream past one hour.
 */
import { z } from 'zod';

/** Idle time before a `ping` frame, ms: 100 ms … 60 s. */
const pingIntervalMs = z.coerce.number().int().min(100).max(60_000).optional();

export const jobStreamQuerySchema = z.object({ ping_interval_ms: pingIntervalMs });

export const watchQuerySchema = z.object({
  // Comma-separated; its 2–100 bound is checked by parseWatchIds so the error names the count.
  ids: z.string().max(100 * 210),
  ping_interval_ms: pingIntervalMs,
});

export const projectStreamQuerySchema = z.object({
  ping_interval_ms: pingIntervalMs,
  /** When the server ends the stream with a `timeout` frame, ms: 500 ms … 1 h. */
  max_duration_ms: z.coerce.number().int().min(500).max(3_600_000).optional(),
});
