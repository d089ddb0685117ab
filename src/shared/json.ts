/** A value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** `value` when it is a string, else `fallback`: reads a string field of untyped JSON. */
export function stringOf(value: JsonValue | undefined, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}
