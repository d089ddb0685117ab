/**
 * A small in-process cache of immutable values, bounded by count: when full,
 * the oldest entry (first inserted) goes. Lookups that find nothing are not
 * cached, so a value that appears later is still found.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The cached value, or `load`'s (cached unless null/undefined). */
  async getOrLoad(key: string, load: () => Promise<V | null | undefined>): Promise<V | null> {
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    const value = await load();
    if (value === null || value === undefined) return null;
    this.set(key, value);
    return value;
  }
}
