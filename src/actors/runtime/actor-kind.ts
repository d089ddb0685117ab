import type { AnyStateMachine } from 'xstate';
import type { EventLogEntry } from '../../store/store.js';
import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ContextStorage } from './context-storage.js';

/** What the runtime persists for one entity: enough to rebuild the XState snapshot. */
export interface PersistedActorState {
  readonly value: JsonValue;
  readonly context: JsonObject;
  readonly status: 'active' | 'done' | 'error' | 'stopped';
}

/**
 * Registers one entity kind with the runtime: its pure machine and how the
 * runtime routes, creates, indexes and describes it. One per machine folder
 * (`src/actors/<entity>/<entity>.kind.ts`).
 */
export interface ActorKind<TMachine extends AnyStateMachine = AnyStateMachine> {
  readonly kind: string;
  readonly machine: TMachine;
  /**
   * The key hashed to pick the entity's shard. Entities that commit together
   * share a routing key (a job's tasks route by the job id) so their writes are
   * one atomic step on one shard.
   */
  routingKey(id: string): string;
  /**
   * When an event reaches an entity that does not exist: the machine input to
   * create it from, or `undefined` to drop the event (it is acknowledged and
   * logged, never retried). The creating event is consumed as the input.
   */
  inputFromCreateEvent(id: string, event: JsonObject & { type: string; at: number }): unknown;
  /**
   * The creating event's type, for kinds whose creating event nearly always
   * meets no entity (a task is created in the commit that dispatches it, a job
   * by its submission). An entity this process has not cached, whose batch
   * starts with this event, is then assumed absent rather than loaded: a
   * placement round saves a store round trip. The commit's version check
   * (absent = version 0) catches one that exists after all, and the retry
   * loads it.
   */
  readonly createEvent?: string;
  /** The entity's public view; `undefined` keeps none. */
  readModel?(state: PersistedActorState, id: string): JsonValue | undefined;
  /**
   * Where the public view lives. `stored` (the default): written beside the
   * snapshot on every commit, for kinds read far more often than they change
   * (jobs, accounts). `derived`: computed from the snapshot when read, for
   * kinds of many entities each written several times and read in bulk
   * rarely (tasks): it takes a second copy of every field out of each commit.
   */
  readonly readModelStorage?: 'stored' | 'derived';
  /** How the context is stored when not as it is (`context-storage.ts`): tasks leave default fields out. */
  readonly contextStorage?: ContextStorage;
  /**
   * Events the runtime folds into one machine step when several arrive in a
   * row in one batch to an existing entity: a busy job gets hundreds of task
   * reports per batch, and one step for them all skips hundreds of
   * transitions. `fold` must do what the events would do one by one, in
   * order; each message is still recorded as applied under its own id.
   */
  readonly batchedEvents?: {
    readonly type: string;
    fold(events: readonly (JsonObject & { type: string; at: number })[]): JsonObject & { type: string; at: number };
  };
  /** The event-log line for one applied event; default: state changes only. */
  logEntry?(event: JsonObject & { type: string; at: number }, before: PersistedActorState | null, after: PersistedActorState): EventLogEntry | undefined;
}
