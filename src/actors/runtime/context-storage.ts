import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ActorKind, PersistedActorState } from './actor-kind.js';

/**
 * How a kind's context is stored when not as it is (`ActorKind.contextStorage`):
 * `compact` leaves fields out of the stored snapshot, `expand` puts them back
 * on load. A task is written three times or more and most of its thirty
 * fields are null until it runs, so compacting takes about a third out of
 * every task commit.
 */
export interface ContextStorage {
  compact(context: JsonObject): JsonObject;
  /**
   * The full context again. Best written as one object literal naming every
   * field (V8 keeps that a fast object, unlike a merge of two spreads, and the
   * compiler catches a forgotten field).
   */
  expand(stored: JsonObject): JsonObject;
}

export function compactState(kind: ActorKind, state: PersistedActorState): PersistedActorState {
  const storage = kind.contextStorage;
  return storage === undefined ? state : { value: state.value, context: storage.compact(state.context), status: state.status };
}

export function expandState(kind: ActorKind, stored: PersistedActorState): PersistedActorState {
  const storage = kind.contextStorage;
  return storage === undefined ? stored : { value: stored.value, context: storage.expand(stored.context), status: stored.status };
}

/**
 * `context` without the fields that hold their value in `defaults` (the same
 * primitive or null, or an empty array where the default is an empty array)
 * and without the fields `omit` names. Built field by field, never by
 * `delete`, which would leave V8 a slow dictionary-mode object to stringify.
 */
export function omitDefaults(context: JsonObject, defaults: Readonly<JsonObject>, omit: readonly string[] = []): JsonObject {
  const kept: JsonObject = {};
  for (const key of Object.keys(context)) {
    const value = context[key] as JsonValue;
    if (omit.includes(key) || (key in defaults && isDefault(value, defaults[key] as JsonValue))) continue;
    kept[key] = value;
  }
  return kept;
}

function isDefault(value: JsonValue, fallback: JsonValue): boolean {
  if (value === fallback) return true;
  return Array.isArray(value) && Array.isArray(fallback) && value.length === 0 && fallback.length === 0;
}
