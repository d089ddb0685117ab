/**
 * A webhook delivery as the store holds it. The KV record `webhook:<id>` is
 * the truth (state, attempts, when the next attempt is due, the last error);
 * the queue `webhooks:due`, scored by due time, is only an index of records
 * that may need work. Every change to a record is a CAS on its KV version, so
 * controllers racing for one delivery agree on a single winner.
 */
import type { JsonObject } from '../../shared/json.js';
import type { KvEntry, Store } from '../../store/store.js';

/** Queue of delivery ids, scored by the epoch ms their record next needs attention. */
export const WEBHOOK_DUE_QUEUE = 'webhooks:due';

export function webhookKey(deliveryId: string): string {
  return `webhook:${deliveryId}`;
}

/**
 * - `pending`: waiting for its first attempt or a retry at `next_attempt_at`.
 * - `delivering`: claimed by `claimed_by` until `next_attempt_at`; a claim
 *   that runs out (the controller died mid-attempt) may be taken again.
 * - `delivered` / `failed`: final; kept for inspection until the TTL ends.
 */
export type WebhookDeliveryState = 'pending' | 'delivering' | 'delivered' | 'failed';

// A type alias, not an interface: it must be assignable to JsonValue to be stored.
export type WebhookDelivery = {
  readonly delivery_id: string;
  readonly job_id: string;
  readonly account_id: string;
  readonly url: string;
  readonly body: JsonObject;
  readonly state: WebhookDeliveryState;
  /** Attempts started so far, the one in flight included. */
  readonly attempts: number;
  /** 1 + `retries` when enqueued; fixed for the delivery's life. */
  readonly max_attempts: number;
  /** Epoch ms: when a pending record is due, or when a claim expires. */
  readonly next_attempt_at: number;
  readonly claimed_by: string | null;
  /** Status of the last answer, if one came. */
  readonly last_status: number | null;
  readonly last_error: string | null;
  readonly created_at: number;
  readonly updated_at: number;
  /** When it became delivered or failed. */
  readonly finished_at: number | null;
};

/** A record with the KV version the next CAS must name. */
export interface VersionedDelivery {
  readonly record: WebhookDelivery;
  readonly version: number;
}

const STATES = new Set<string>(['pending', 'delivering', 'delivered', 'failed']);

/** The record in `entry`, or null when the value is not one (a foreign or corrupt key). */
export function readDelivery(entry: KvEntry | null): VersionedDelivery | null {
  if (entry === null) return null;
  const value = entry.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const ok =
    typeof value.delivery_id === 'string' &&
    typeof value.url === 'string' &&
    typeof value.state === 'string' &&
    STATES.has(value.state) &&
    typeof value.attempts === 'number' &&
    typeof value.max_attempts === 'number' &&
    typeof value.next_attempt_at === 'number' &&
    value.body !== null &&
    typeof value.body === 'object' &&
    !Array.isArray(value.body);
  return ok ? { record: value as WebhookDelivery, version: entry.version } : null;
}

/** The stored record of a delivery (for inspection and tests), or null. */
export async function readWebhookDelivery(store: Store, deliveryId: string): Promise<WebhookDelivery | null> {
  return readDelivery(await store.kvGet(webhookKey(deliveryId)))?.record ?? null;
}

export function isFinal(state: WebhookDeliveryState): boolean {
  return state === 'delivered' || state === 'failed';
}
