/**
 * One registered agent stream on the controller: the {@link AgentSession} the
 * scheduler talks to. Writes honour the stream's backpressure — a write the
 * HTTP/2 layer cannot take yet waits in a bounded queue — and the stream is
 * closed exactly once, whoever asks first (scheduler, agent, network, shutdown).
 */
import { status as Status, type ServerDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { AgentMessage, ControllerMessage, Register } from '../../gen/computalot/agent/v1/agent.js';
import type { Logger } from '../../shared/logger.js';
import { TurnBatcher, packBatch } from '../../shared/turn-batcher.js';
import type { AgentSession } from './agent-session.js';

/** The server side of `AgentGateway.Connect`. */
export type AgentDuplexStream = ServerDuplexStream<AgentMessage, ControllerMessage>;

/** Options of {@link AgentStreamSession}. */
export interface AgentStreamSessionOptions {
  readonly call: AgentDuplexStream;
  readonly workerId: string;
  readonly register: Register;
  /**
   * Messages that may wait while the stream applies backpressure; past this the
   * agent is too slow to serve (or gone) and the stream is closed.
   */
  readonly maxQueuedMessages: number;
  readonly logger: Logger;
  /** Called once, when the stream is closed for any reason. */
  readonly onClosed: (reason: string) => void;
}

/** A registered agent's stream, as the scheduler sees it. */
export class AgentStreamSession implements AgentSession {
  readonly workerId: string;
  readonly register: Register;
  private readonly call: AgentDuplexStream;
  private readonly maxQueuedMessages: number;
  private readonly logger: Logger;
  private readonly onClosed: (reason: string) => void;
  /** Messages waiting for the stream's 'drain'; empty while the stream takes writes. */
  private readonly waiting: ControllerMessage[] = [];
  private blocked = false;
  private closed = false;
  /** Set once the agent said it reads `ControllerMessage.batch` (after Registered went out). */
  private batcher: TurnBatcher<ControllerMessage> | undefined;

  constructor(options: AgentStreamSessionOptions) {
    this.call = options.call;
    this.workerId = options.workerId;
    this.register = options.register;
    this.maxQueuedMessages = options.maxQueuedMessages;
    this.logger = options.logger;
    this.onClosed = options.onClosed;
  }

  /** True once the stream was closed by either side. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** From now on, messages of one event-loop turn go out as one batch. */
  batchWrites(): void {
    this.batcher ??= new TurnBatcher((messages) => {
      if (!this.closed) this.sendNow(packBatch(messages, (batch) => ({ kind: { $case: 'batch', value: { messages: batch } } })));
    });
  }

  send(message: ControllerMessage): boolean {
    if (this.closed) return false;
    if (this.batcher !== undefined) {
      this.batcher.add(message);
      return true;
    }
    return this.sendNow(message);
  }

  private sendNow(message: ControllerMessage): boolean {
    if (this.blocked) {
      if (this.waiting.length >= this.maxQueuedMessages) {
        this.logger.warn({ workerId: this.workerId, queued: this.waiting.length }, 'agent send queue overflowed; closing its stream');
        this.closeWithStatus(Status.RESOURCE_EXHAUSTED, 'controller send queue overflowed', { flush: false });
        return false;
      }
      this.waiting.push(message);
      return true;
    }
    this.writeNow(message);
    return true;
  }

  close(reason: string): void {
    this.closeWithStatus(Status.UNAVAILABLE, reason, { flush: true });
  }

  /**
   * Ends the stream with `code` and `reason` as the status the agent sees.
   * With `flush`, queued messages go out first (a Drain before the close, say);
   * without, they are dropped (the queue is what went wrong).
   */
  closeWithStatus(code: Status, reason: string, { flush }: { flush: boolean }): void {
    if (this.closed) return;
    if (flush) {
      this.batcher?.flush();
      for (const message of this.waiting.splice(0)) this.call.write(message);
    }
    this.batcher?.drop();
    this.waiting.length = 0;
    this.markClosed(reason);
    const status: Partial<StatusObject> = { code, details: reason };
    // grpc-js turns an 'error' emitted on a server stream into the call's final status.
    if (!this.call.writableEnded && !this.call.destroyed) this.call.emit('error', status);
  }

  /** The peer went away (end, cancel, network error): no status can be sent any more. */
  markPeerGone(reason: string): void {
    if (this.closed) return;
    this.batcher?.drop();
    this.waiting.length = 0;
    this.markClosed(reason);
    if (!this.call.writableEnded && !this.call.destroyed) this.call.end();
  }

  private markClosed(reason: string): void {
    this.closed = true;
    this.onClosed(reason);
  }

  private writeNow(message: ControllerMessage): void {
    if (this.call.write(message)) return;
    this.blocked = true;
    this.call.once('drain', () => this.flushWaiting());
  }

  /** Writes queued messages until the stream pushes back again or the queue is empty. */
  private flushWaiting(): void {
    this.blocked = false;
    while (!this.closed && !this.blocked) {
      const next = this.waiting.shift();
      if (next === undefined) return;
      this.writeNow(next);
    }
  }
}
