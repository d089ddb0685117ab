/**
 * A small in-process cache of token resolutions, so an authenticated request
 * costs one KV read per token per TTL instead of one per request.
 *
 * The price is revocation latency: a key revoked in another process (the
 * admin CLI, another controller) keeps working here until its entry expires.
 * Revocations made through this process's `CredentialService` take effect at
 * once. Failures ("no such token") are cached too: a random token cannot
 * become valid later, and it keeps a flood of bad tokens off the store.
 */

/** Default lifetime of a cached resolution (ms): the bound on cross-process revocation latency. */
export const DEFAULT_TOKEN_CACHE_TTL_MS = 5_000;
/** Most entries kept; the oldest is dropped first. Bounds memory under a flood of random tokens. */
export const DEFAULT_TOKEN_CACHE_MAX_ENTRIES = 10_000;

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TokenCache<V> {
  // Map keeps insertion order, which is all a drop-oldest policy needs.
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  /** The cached value for `key`, or undefined when absent or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Caches `value` for the TTL, or until `notAfter` (epoch ms) when that is sooner. */
  set(key: string, value: V, notAfter?: number): void {
    if (this.ttlMs <= 0) return;
    const expiresAt = Math.min(this.now() + this.ttlMs, notAfter ?? Number.POSITIVE_INFINITY);
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
