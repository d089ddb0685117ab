import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ActorKind, PersistedActorState } from './actor-kind.js';

/**
 * Stored snapshots leave out context fields that still hold their kind's
 * default (`ActorKind.contextDefaults`), and loading puts them back. A task
 * is written three times or more and most of its thirty fields are null
 * until it runs, so this takes about a third out of every task commit.
 * A field counts as default when it is the same primitive (or null), or an
 * empty array where the default is an empty array.
 */
export function compactState(kind: ActorKind, state: PersistedActorState): PersistedActorState {
  const defaults = kind.contextDefaults;
  if (defaults === undefined) return state;
  const context: JsonObject = {};
  for (const key of Object.keys(state.context)) {
    const value = state.context[key] as JsonValue;
    if (key in defaults && isDefault(value, defaults[key] as JsonValue)) continue;
    context[key] = value;
  }
  return { value: state.value, context, status: state.status };
}

/** The full state of a stored snapshot: defaults first, stored fields over them. */
export function expandState(kind: ActorKind, stored: PersistedActorState): PersistedActorState {
  const defaults = kind.contextDefaults;
  if (defaults === undefined) return stored;
  return { value: stored.value, context: { ...defaults, ...stored.context }, status: stored.status };
}

function isDefault(value: JsonValue, fallback: JsonValue): boolean {
  if (value === fallback) return true;
  return Array.isArray(value) && Array.isArray(fallback) && value.length === 0 && fallback.length === 0;
}
