import { StoreArgumentError } from './errors.js';

/**
 * Values leave the store as copies, as they would from Redis: a caller may
 * mutate what it got without touching the store's state.
 */
export function copyJson<T>(value: T): T {
  return value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** TTLs are positive whole milliseconds, as the Redis store requires. */
export function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new StoreArgumentError(`TTL must be a positive whole number of ms, got ${ttlMs}`);
}
