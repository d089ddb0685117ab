/**
 * A small real SSE client for tests: `fetch` plus a parser of the
 * `text/event-stream` format (`event:`, `data:`, `id:` lines, blank line ends
 * a frame, `:` starts a comment). Frames collect as they arrive; tests await
 * the one they expect.
 */

export interface SseFrame {
  readonly event: string;
  readonly id: string | null;
  /** `data` parsed as JSON (every frame of ours is JSON). */
  readonly data: Record<string, unknown>;
  /** When the frame arrived, `Date.now()`. */
  readonly at: number;
}

export interface SseStream {
  readonly status: number;
  readonly contentType: string;
  /** Every frame so far, in order. */
  readonly frames: SseFrame[];
  /** Resolves when the server ends the response (or the client aborts). */
  readonly ended: Promise<void>;
  /** The first frame (from `from` on) that matches, waiting up to `timeoutMs`. */
  next(match: (frame: SseFrame) => boolean, timeoutMs?: number, from?: number): Promise<SseFrame>;
  close(): void;
}

/** Parses complete frames out of `buffer`; returns them and the unparsed rest. */
export function parseSse(buffer: string): { frames: { event: string; id: string | null; data: string }[]; rest: string } {
  const frames: { event: string; id: string | null; data: string }[] = [];
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) frames.push({ event, id, data: data.join('\n') });
  }
  return { frames, rest };
}

/**
 * Opens `url` as an event stream. A non-stream answer (an error) is still
 * returned: `status` and `contentType` tell, and `json()` of the body is in
 * the single pseudo-frame `error`.
 */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const contentType = response.headers.get('content-type') ?? '';
  const frames: SseFrame[] = [];
  const wakeups = new Set<() => void>();
  const notify = () => {
    for (const wake of [...wakeups]) wake();
  };
  let done = false;

  const ended = (async () => {
    if (!contentType.startsWith('text/event-stream') || response.body === null) {
      const text = await response.text();
      frames.push({ event: 'error', id: null, data: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), at: Date.now() });
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        const parsed = parseSse(buffer);
        buffer = parsed.rest;
        for (const frame of parsed.frames) frames.push({ event: frame.event, id: frame.id, data: JSON.parse(frame.data) as Record<string, unknown>, at: Date.now() });
        if (parsed.frames.length > 0) notify();
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })().finally(() => {
    done = true;
    notify();
  });
  // Waiters see the end through `done`; an unobserved rejection must not crash the test process.
  ended.catch(() => undefined);

  const next = (match: (frame: SseFrame) => boolean, timeoutMs = 20_000, from = 0): Promise<SseFrame> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = frames.slice(from).find(match);
        if (found !== undefined) finish(() => resolve(found));
        else if (done) finish(() => reject(new Error(`stream ended without the awaited frame; got ${frames.map((f) => f.event).join(',')}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no awaited frame within ${timeoutMs} ms; got ${frames.map((f) => f.event).join(',')}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        wakeups.delete(check);
        settle();
      };
      wakeups.add(check);
      check();
    });

  return { status: response.status, contentType, frames, ended, next, close: () => abort.abort() };
}
