/**
 * Hooks the agent side connects to: the registry records intent ("workers
 * should prepare revision X", "drop prepared runtimes"), the agent transport
 * acts on it and reports back through `recordNodeState`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../shared/logger.js';

/** Workers should prepare `contentHash` of the project. */
export interface InitRequest {
  readonly accountId: string;
  readonly name: string;
  readonly contentHash: string;
  /** `init`: POST /init; `refresh`: a push replaced a revision that was warm on `workerIds`. */
  readonly reason: 'init' | 'refresh';
  /** Workers to re-prepare (refresh); empty = every currently available eligible worker (init). */
  readonly workerIds: readonly string[];
}

/** Prepared runtimes of the project are stale and may be discarded. */
export interface InvalidateNotice {
  readonly accountId: string;
  readonly name: string;
  /** The revision that was active, or null when none was pushed. */
  readonly contentHash: string | null;
  readonly reason: 'invalidate' | 'deleted';
}

/** A typed, failure-isolated emitter: a throwing listener is logged and never fails the request. */
export class ProjectEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly logger: Logger) {}

  /** Subscribes to init requests; returns the unsubscribe function. */
  onInitRequested(listener: (request: InitRequest) => void): () => void {
    return this.subscribe('initRequested', listener);
  }

  /** Subscribes to invalidations and deletions; returns the unsubscribe function. */
  onInvalidated(listener: (notice: InvalidateNotice) => void): () => void {
    return this.subscribe('invalidated', listener);
  }

  emitInitRequested(request: InitRequest): void {
    this.emit('initRequested', request);
  }

  emitInvalidated(notice: InvalidateNotice): void {
    this.emit('invalidated', notice);
  }

  private subscribe<T>(event: string, listener: (value: T) => void): () => void {
    this.emitter.on(event, listener);
    return () => void this.emitter.off(event, listener);
  }

  private emit(event: string, value: InitRequest | InvalidateNotice): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (v: typeof value) => void)(value);
      } catch (error) {
        this.logger.error({ err: error, event, project: value.name, accountId: value.accountId }, 'project hook failed');
      }
    }
  }
}
