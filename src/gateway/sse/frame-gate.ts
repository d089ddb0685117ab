/**
 * Holds changes that arrive while a stream is still preparing its first
 * frames, so a client never sees a change before the state it changes.
 */
export class FrameGate<T> {
  private held: T[] | null = [];

  constructor(private readonly deliver: (item: T) => void) {}

  push(item: T): void {
    if (this.held === null) this.deliver(item);
    else this.held.push(item);
  }

  /** Delivers what was held, in order; later items pass straight through. */
  open(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const item of held) this.deliver(item);
  }
}
