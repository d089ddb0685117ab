/** Turning flag text into config overrides. */

/**
 * `--port 8081` → 8081. Text that is not a whole number is passed through so the
 * config schema rejects it with its usual message (`command line: controller.http.port: …`).
 */
export function integerFlag(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
}
