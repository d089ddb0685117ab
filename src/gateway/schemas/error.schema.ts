/**
 * The one error body every 4xx/5xx answer uses (STYLE.md §4):
 * `{ "error": { "code", "message", "details"? } }`.
 */
import { z } from 'zod';

export const errorBodySchema = z.object({
  error: z.object({
    /** Stable snake_case code clients may branch on. */
    code: z.string(),
    /** Human-readable; wording may change. */
    message: z.string(),
    /** Structured context (field paths, limits); absent when there is none. */
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** An error response body. */
export type ErrorBody = z.infer<typeof errorBodySchema>;
