/**
 * `--store-stats`: counts every RedisStore call made in this process (the
 * controller's and the bench's own) with its summed latency, so a bench can
 * say how many store round trips a task costs and where the time goes.
 * Patches the prototype; call before the store is used.
 */
import { performance } from 'node:perf_hooks';
import { RedisStore } from '../../src/store/index.js';

interface MethodStats {
  calls: number;
  ms: number;
}

const stats = new Map<string, MethodStats>();
let installed = false;

export function installStoreStats(): void {
  if (installed) return;
  installed = true;
  const proto = RedisStore.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(RedisStore.prototype)) {
    const original = proto[name];
    if (name === 'constructor' || typeof original !== 'function') continue;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const started = performance.now();
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      if (!(result instanceof Promise)) return result;
      return result.finally(() => {
        const entry = stats.get(name) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += performance.now() - started;
        stats.set(name, entry);
      });
    };
  }
}

export function resetStoreStats(): void {
  stats.clear();
}

/** One line per method, most calls first; `perTask` divides the call counts. */
export function formatStoreStats(perTask: number): string {
  return [...stats]
    .sort((a, b) => b[1].calls - a[1].calls)
    .map(([name, s]) => `  ${name.padEnd(18)} ${String(s.calls).padStart(7)} calls (${(s.calls / perTask).toFixed(2)}/task)  ${(s.ms / s.calls).toFixed(2)} ms avg  ${(s.ms / 1000).toFixed(2)} s summed`)
    .join('\n');
}
