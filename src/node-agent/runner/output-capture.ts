/**
 * Capturing a task's output: stdout and stderr interleaved in arrival order into a
 * ring that keeps the LAST 10 KB (the reference's per-task `output`), the error
 * tail (last ~1000 characters, "tail, not head — preserves tracebacks"), and
 * `COMPUTALOT_PROGRESS:{json}` lines parsed as they complete.
 */

/** Bytes of output kept per task (reference: "Full output (up to 10KB) stored per task"). */
export const DEFAULT_OUTPUT_BYTES = 10 * 1024;
/** Characters of the error tail (reference: "Last ~1000 chars captured as error"). */
export const ERROR_TAIL_CHARS = 1000;
/** The progress line prefix of the runner protocol. */
export const PROGRESS_PREFIX = 'COMPUTALOT_PROGRESS:';
/** Longest line scanned for progress; longer lines are passed through unparsed. */
const MAX_LINE_BYTES = 1024 * 1024;

/** Keeps the last `limit` bytes written to it. */
export class OutputRing {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Every byte ever written, including those dropped. */
  totalBytes = 0;

  constructor(readonly limit = DEFAULT_OUTPUT_BYTES) {}

  write(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    // Compact lazily: only once twice the limit is held, so each byte is copied O(1) times.
    if (this.held > this.limit * 2) this.compact();
  }

  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const kept = all.subarray(Math.max(0, all.length - this.limit));
    this.chunks = [Buffer.from(kept)];
    this.held = kept.length;
  }

  /** The kept bytes as text; a multi-byte character cut at the start is dropped. */
  text(): string {
    this.compact();
    const buffer = this.chunks[0] ?? Buffer.alloc(0);
    let start = 0;
    // Skip UTF-8 continuation bytes (10xxxxxx) left over from a cut character.
    while (start < buffer.length && start < 4 && ((buffer[start] ?? 0) & 0xc0) === 0x80) start += 1;
    return buffer.subarray(start).toString('utf8');
  }

  /** True when older output was dropped. */
  get truncated(): boolean {
    return this.totalBytes > this.limit;
  }
}

/** The last `chars` characters of `text`. */
export function errorTail(text: string, chars = ERROR_TAIL_CHARS): string {
  return text.length <= chars ? text : text.slice(text.length - chars);
}

/** What a progress line turned into. */
export type ProgressLine = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string; readonly line: string };

/**
 * Splits one stream into lines and reports `COMPUTALOT_PROGRESS:` lines. One
 * instance per stream, so a line split across chunks is reassembled.
 */
export class ProgressLineScanner {
  private partial = '';

  constructor(private readonly onLine: (line: ProgressLine) => void) {}

  feed(text: string): void {
    const data = this.partial + text;
    const lines = data.split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_LINE_BYTES) this.partial = '';
    for (const line of lines) this.scan(line);
  }

  /** Processes a final line with no newline (call when the stream ends). */
  end(): void {
    if (this.partial !== '') this.scan(this.partial);
    this.partial = '';
  }

  private scan(rawLine: string): void {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (!line.startsWith(PROGRESS_PREFIX)) return;
    const json = line.slice(PROGRESS_PREFIX.length);
    try {
      this.onLine({ ok: true, value: JSON.parse(json) as unknown });
    } catch (error) {
      this.onLine({ ok: false, reason: error instanceof Error ? error.message : String(error), line: line.slice(0, 200) });
    }
  }
}
