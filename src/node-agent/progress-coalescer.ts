/**
 * Batches an attempt's progress and output into at most one TaskProgress per
 * interval: a chatty runner (a progress line per loop iteration, unbuffered
 * output) must not flood the controller's mailboxes.
 */

/** One batch to report; either part may be empty, never both. */
export interface ProgressBatch {
  /** Latest progress JSON of the interval (progress is a snapshot: older ones are stale). */
  readonly progressJson: string;
  /** All output of the interval, in order (its tail, when over the cap). */
  readonly outputChunk: string;
}

/** Options of {@link ProgressCoalescer}. */
export interface ProgressCoalescerOptions {
  /** Minimum time between two batches, in ms. */
  readonly intervalMs: number;
  /** Output kept per batch, in characters; older text is dropped with a marker. */
  readonly maxOutputChars: number;
  readonly emit: (batch: ProgressBatch) => void;
  /** Injected clock for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/** Coalesces one attempt's progress reports. */
export class ProgressCoalescer {
  private readonly options: ProgressCoalescerOptions;
  private readonly now: () => number;
  private progressJson = '';
  private output = '';
  private droppedChars = 0;
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ProgressCoalescerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  addProgress(progressJson: string): void {
    this.progressJson = progressJson;
    this.schedule();
  }

  addOutput(chunk: string): void {
    if (chunk === '') return;
    this.output += chunk;
    const excess = this.output.length - this.options.maxOutputChars;
    if (excess > 0) {
      this.output = this.output.slice(excess);
      this.droppedChars += excess;
    }
    this.schedule();
  }

  /** Emits whatever is pending now (before TaskFinished, so reports stay in order). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.progressJson === '' && this.output === '') return;
    const marker = this.droppedChars > 0 ? `[… ${this.droppedChars} characters of output dropped …]\n` : '';
    const batch = { progressJson: this.progressJson, outputChunk: marker + this.output };
    this.progressJson = '';
    this.output = '';
    this.droppedChars = 0;
    this.lastEmitAt = this.now();
    this.options.emit(batch);
  }

  /** Drops anything pending and stops the timer. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastEmitAt + this.options.intervalMs - this.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }
}
