import type { JsonObject, JsonValue } from '../../shared/json.js';

/**
 * Lenient readers for creation events, which reach `inputFromCreateEvent` as
 * untyped JSON. The gateway validates submissions with zod before any event is
 * sent; these only fill documented defaults and keep a malformed field from
 * putting `undefined` (not JSON) into a machine's context.
 */

export function readString(obj: JsonObject, key: string, fallback: string): string {
  const value = obj[key];
  return typeof value === 'string' ? value : fallback;
}

export function readStringOrNull(obj: JsonObject, key: string): string | null {
  const value = obj[key];
  return typeof value === 'string' ? value : null;
}

export function readNumber(obj: JsonObject, key: string, fallback: number): number {
  const value = obj[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function readNumberOrNull(obj: JsonObject, key: string): number | null {
  const value = obj[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A non-negative integer (counts, retries, indexes); anything else → `fallback`. */
export function readCount(obj: JsonObject, key: string, fallback: number): number {
  const value = obj[key];
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : fallback;
}

export function readBoolean(obj: JsonObject, key: string, fallback: boolean): boolean {
  const value = obj[key];
  return typeof value === 'boolean' ? value : fallback;
}

export function readStringArray(obj: JsonObject, key: string): string[] {
  const value = obj[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export function readObject(obj: JsonObject, key: string): JsonObject | null {
  const value = obj[key];
  return isJsonObject(value) ? value : null;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The last `max` characters: error tails keep the end, where tracebacks are. */
export function tail(text: string | null, max: number): string | null {
  if (text === null) return null;
  return text.length <= max ? text : text.slice(text.length - max);
}
