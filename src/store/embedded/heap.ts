/**
 * A binary min-heap ordered by a caller-supplied `before(a, b)`.
 *
 * Deletion is lazy: owners keep the authoritative set elsewhere and tell the
 * heap which entries are still `live`, so removing an arbitrary member costs
 * O(1) instead of a search. Stale entries sink out at the top (`pop`/`peek`)
 * or in a `rebuild` once they outnumber the live ones.
 */
export class BinaryHeap<T> {
  private items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  /** Entries held, stale ones included. */
  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  /** Smallest entry, dropping stale ones off the top first. */
  peek(live: (item: T) => boolean): T | undefined {
    while (this.items.length > 0) {
      const top = this.items[0] as T;
      if (live(top)) return top;
      this.removeTop();
    }
    return undefined;
  }

  pop(live: (item: T) => boolean): T | undefined {
    const top = this.peek(live);
    if (top !== undefined) this.removeTop();
    return top;
  }

  /**
   * Up to `count` live entries in order, without removing them: a best-first
   * walk of the heap with a small frontier heap, O(k log k) plus whatever
   * stale entries lie on the way.
   */
  peekOrdered(count: number, live: (item: T) => boolean): T[] {
    const out: T[] = [];
    if (count <= 0 || this.items.length === 0) return out;
    const frontier = new BinaryHeap<number>((a, b) => this.before(this.items[a] as T, this.items[b] as T));
    frontier.push(0);
    const always = () => true;
    while (out.length < count) {
      const index = frontier.pop(always);
      if (index === undefined) break;
      const item = this.items[index] as T;
      if (live(item)) out.push(item);
      const left = 2 * index + 1;
      if (left < this.items.length) frontier.push(left);
      if (left + 1 < this.items.length) frontier.push(left + 1);
    }
    return out;
  }

  /** Drops stale entries and re-heapifies in O(n). */
  rebuild(live: (item: T) => boolean): void {
    this.items = this.items.filter(live);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private removeTop(): void {
    const last = this.items.pop() as T;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.siftDown(0);
    }
  }

  private siftUp(index: number): void {
    const items = this.items;
    const item = items[index] as T;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentItem = items[parent] as T;
      if (!this.before(item, parentItem)) break;
      items[index] = parentItem;
      index = parent;
    }
    items[index] = item;
  }

  private siftDown(index: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.before(items[right] as T, items[left] as T)) child = right;
      const childItem = items[child] as T;
      if (!this.before(childItem, item)) break;
      items[index] = childItem;
      index = child;
    }
    items[index] = item;
  }
}
