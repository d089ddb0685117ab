import { BinaryHeap } from './heap.js';

/** One member of a `ScoredSet`, as the heap sees it. */
interface HeapEntry {
  readonly member: string;
  readonly score: number;
  /** Insertion order; breaks score ties and tells a stale heap entry from the live one. */
  readonly seq: number;
}

/** A member with its score, insertion order and payload. */
export interface ScoredMember<V> {
  readonly member: string;
  readonly score: number;
  readonly seq: number;
  readonly value: V;
}

/**
 * A set of members ordered by (score, insertion), the embedded counterpart of a
 * Redis sorted set: priority queues and per-shard timers are built on it.
 *
 * Set, delete and lookup are O(1) on the map, plus O(log n) to push the new
 * heap entry; taking the k lowest is O(k log n). Replaced and deleted members
 * leave stale heap entries behind that are skipped and, past a threshold,
 * swept by a rebuild.
 */
export class ScoredSet<V> {
  private readonly members = new Map<string, ScoredMember<V>>();
  private readonly heap = new BinaryHeap<HeapEntry>((a, b) => a.score < b.score || (a.score === b.score && a.seq < b.seq));
  private readonly isLive = (entry: HeapEntry): boolean => this.members.get(entry.member)?.seq === entry.seq;

  get size(): number {
    return this.members.size;
  }

  get(member: string): ScoredMember<V> | undefined {
    return this.members.get(member);
  }

  /** Adds or replaces `member`; `seq` must be unique and increasing across the set's lifetime. */
  set(member: string, score: number, seq: number, value: V): void {
    this.members.set(member, { member, score, seq, value });
    this.heap.push({ member, score, seq });
    this.compactIfMostlyStale();
  }

  delete(member: string): boolean {
    const removed = this.members.delete(member);
    if (removed) this.compactIfMostlyStale();
    return removed;
  }

  /** The lowest member, or undefined when empty. */
  first(): ScoredMember<V> | undefined {
    const top = this.heap.peek(this.isLive);
    return top && this.members.get(top.member);
  }

  /** Up to `count` lowest members in order, without removing them. */
  lowest(count: number): ScoredMember<V>[] {
    // Clean the top first so the ordered walk does not wade through entries popped earlier.
    this.heap.peek(this.isLive);
    return this.heap.peekOrdered(count, this.isLive).map((entry) => this.members.get(entry.member) as ScoredMember<V>);
  }

  /** Every member in insertion order of its current score (for snapshots). */
  entries(): IterableIterator<ScoredMember<V>> {
    return this.members.values();
  }

  private compactIfMostlyStale(): void {
    if (this.heap.length > 1024 && this.heap.length > 2 * this.members.size) this.heap.rebuild(this.isLive);
  }
}
