/**
 * Bodies of the operational probes (reference "Ops" table: /health, /live, /ready).
 */
import { z } from 'zod';

/** `GET /live` and `GET /health`: identical bodies, by the reference. */
export const livenessBodySchema = z.object({
  status: z.literal('ok'),
  /** Software version of this process. */
  version: z.string(),
  /** When this process's gateway was built (ISO 8601); changes on restart. */
  started_at: z.string(),
});

const readinessCheckSchema = z.object({ ok: z.boolean(), detail: z.string().optional() });

/**
 * `GET /ready`. `starting` (503) until the controller core first reports ready,
 * `ready` (200) while it is, `unavailable` (503) if it stops being ready later
 * (e.g. the store connection dropped).
 */
export const readinessBodySchema = z.object({
  status: z.enum(['starting', 'ready', 'unavailable']),
  checks: z.record(z.string(), readinessCheckSchema),
});

export type LivenessBody = z.infer<typeof livenessBodySchema>;
export type ReadinessBody = z.infer<typeof readinessBodySchema>;
