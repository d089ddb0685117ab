/**
 * How a delivery record changes, as pure functions of the record and the
 * time: the dispatcher reads, picks one of these, and CAS-writes the result.
 */
import type { JsonObject } from '../../shared/json.js';
import type { WebhookDelivery } from './delivery-record.js';

/** What one attempt came to, whether it reached the network or was refused first. */
export type AttemptResult =
  | { readonly ok: true; readonly status: number }
  /** `retryable`: false for a refused target, which no retry can fix. */
  | { readonly ok: false; readonly status: number | null; readonly error: string; readonly retryable: boolean };

export interface NewDelivery {
  readonly deliveryId: string;
  readonly jobId: string;
  readonly accountId: string;
  readonly url: string;
  readonly body: JsonObject;
  readonly maxAttempts: number;
  readonly now: number;
}

/** A delivery due at once. */
export function newDelivery(input: NewDelivery): WebhookDelivery {
  return {
    delivery_id: input.deliveryId,
    job_id: input.jobId,
    account_id: input.accountId,
    url: input.url,
    body: input.body,
    state: 'pending',
    attempts: 0,
    max_attempts: input.maxAttempts,
    next_attempt_at: input.now,
    claimed_by: null,
    last_status: null,
    last_error: null,
    created_at: input.now,
    updated_at: input.now,
    finished_at: null,
  };
}

/**
 * Starts an attempt: counted now, so an attempt whose controller dies still
 * uses up one of the budget; the claim lasts `claimMs`, after which the
 * record is due again and another controller may take it.
 */
export function claimDelivery(record: WebhookDelivery, now: number, controllerId: string, claimMs: number): WebhookDelivery {
  return { ...record, state: 'delivering', attempts: record.attempts + 1, next_attempt_at: now + claimMs, claimed_by: controllerId, updated_at: now };
}

/** Delay before the retry that follows attempt `attempt` (1-based): `backoffMs`, doubling. */
export function retryDelayMs(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** Math.max(0, attempt - 1);
}

/** The record after its claimed attempt ended with `result`. */
export function settleAttempt(record: WebhookDelivery, result: AttemptResult, now: number, backoffMs: number): WebhookDelivery {
  const base = { ...record, claimed_by: null, updated_at: now, last_status: result.status };
  if (result.ok) return { ...base, state: 'delivered', last_error: null, finished_at: now };
  if (result.retryable && record.attempts < record.max_attempts) {
    return { ...base, state: 'pending', last_error: result.error, next_attempt_at: now + retryDelayMs(backoffMs, record.attempts) };
  }
  return { ...base, state: 'failed', last_error: result.error, finished_at: now };
}

/** A claim given back unfinished (the controller is stopping): the attempt is not counted and is due at once. */
export function releaseClaim(record: WebhookDelivery, now: number): WebhookDelivery {
  return { ...record, state: 'pending', attempts: Math.max(0, record.attempts - 1), next_attempt_at: now, claimed_by: null, updated_at: now };
}

/** A claim that ran out on the last attempt: it may or may not have reached the receiver, and nothing is left to try. */
export function failInterrupted(record: WebhookDelivery, now: number): WebhookDelivery {
  const error = `attempt ${record.attempts} of ${record.max_attempts} was interrupted (its controller stopped) and no attempt is left`;
  return { ...record, state: 'failed', claimed_by: null, last_error: record.last_error === null ? error : `${error}; before that: ${record.last_error}`, updated_at: now, finished_at: now };
}
