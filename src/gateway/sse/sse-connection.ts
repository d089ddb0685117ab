/**
 * One open SSE response: numbered frames written in order, a `ping` after
 * each idle interval, and a clean end. Wraps `@fastify/sse`'s `reply.sse`.
 */
import type { FastifyReply } from 'fastify';
// Brings `reply.sse` (the plugin's FastifyReply augmentation) into this file's types.
import type {} from '@fastify/sse';
import type { JsonValue } from '../../shared/json.js';
import type { StreamEventName } from './frames.js';

/**
 * Frames a connection may have queued but not yet written. A client that
 * reads slower than its jobs change is cut off rather than buffered without
 * bound; it reconnects and starts again from a snapshot.
 */
export const MAX_QUEUED_FRAMES = 2_000;

/** The streams open in one gateway, so shutdown can end them (`app.close()` waits for open responses). */
export class OpenStreams {
  private readonly open = new Set<SseConnection>();

  add(connection: SseConnection): void {
    this.open.add(connection);
  }

  delete(connection: SseConnection): void {
    this.open.delete(connection);
  }

  get size(): number {
    return this.open.size;
  }

  /** Ends every open stream at once, without a final frame: the server is going away. */
  closeAll(): void {
    for (const connection of [...this.open]) connection.abort();
  }
}

export interface SseConnectionOptions {
  /** A `ping` frame goes out after this long without any other frame. */
  readonly pingIntervalMs: number;
  readonly streams: OpenStreams;
}

export class SseConnection {
  private nextId: number;
  private writes: Promise<void> = Promise.resolve();
  private queued = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private open = true;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly reply: FastifyReply,
    private readonly options: SseConnectionOptions,
  ) {
    // The handler returns long before the stream ends; without this the plugin closes it on return.
    reply.sse.keepAlive();
    // Ids continue after the client's Last-Event-ID so they only ever grow across reconnects.
    const last = Number(reply.sse.lastEventId ?? Number.NaN);
    this.nextId = Number.isSafeInteger(last) && last >= 0 ? last + 1 : 1;
    reply.sse.onClose(() => this.closed());
    options.streams.add(this);
    // The client may have left while the stream was being prepared; the plugin's close callbacks already ran then.
    if (!reply.sse.isConnected) this.closed();
  }

  /** Whether the client has asked to resume (sent `Last-Event-ID`). */
  get resumed(): boolean {
    return this.reply.sse.lastEventId !== null && this.reply.sse.lastEventId !== '';
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Runs once when the stream ends for any reason (client gone, `end`, shutdown). */
  onClose(listener: () => void): void {
    if (this.open) this.closeListeners.push(listener);
    else listener();
  }

  /**
   * Queues one frame; resolves once it is written (or the connection is
   * gone). Frames leave in the order they were sent.
   */
  send(event: StreamEventName, data: JsonValue): Promise<void> {
    if (!this.open) return Promise.resolve();
    if (this.queued >= MAX_QUEUED_FRAMES) {
      this.abort();
      return Promise.resolve();
    }
    const id = String(this.nextId++);
    this.queued += 1;
    this.armPing();
    this.writes = this.writes.then(async () => {
      this.queued -= 1;
      if (!this.open || !this.reply.sse.isConnected) return;
      try {
        await this.reply.sse.send({ id, event, data });
      } catch {
        // The client went away between the check and the write; `closed` follows.
        this.closed();
      }
    });
    return this.writes;
  }

  /** Sends a last frame (if any), waits until everything queued is written, then ends the response. */
  async end(event?: StreamEventName, data?: JsonValue): Promise<void> {
    if (event !== undefined) await this.send(event, data ?? {});
    await this.writes;
    this.abort();
  }

  /** Ends the response now; queued frames are dropped. */
  abort(): void {
    if (!this.open) return;
    this.reply.sse.close();
    this.closed();
  }

  private armPing(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => void this.send('ping', {}), this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  private closed(): void {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this.pingTimer);
    this.options.streams.delete(this);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
