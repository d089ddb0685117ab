import type { Test } from 'tap';
import { coordinationConformance } from './conformance/coordination.js';
import { entityConformance } from './conformance/entities.js';
import type { ConformanceSubject, MakeStore } from './conformance/helpers.js';
import { messagingConformance } from './conformance/messaging.js';
import { reopenConformance } from './conformance/reopen.js';

export type { ConformanceSubject, MakeStore };

/**
 * The behaviour every `Store` implementation must show (ARCHITECTURE.md §4),
 * written against the interface only. A test file per implementation calls it:
 *
 *     storeConformance(t, async () => ({ store: await openMyStore(), reopen }));
 *
 * `makeStore` is called once per subtest and must return an empty store with
 * at least 4 shards; the suite closes it. With `reopen`, a subtest also checks
 * that committed state survives a restart.
 *
 * Semantics the interface leaves open and this suite pins down, so both
 * implementations agree: a lease's holder may acquire it again (new, larger
 * token); KV versions start at 1 and grow by one per write; a stale fence
 * makes `fireDueTimers` return 0; cancels in a commit apply before schedules.
 */
export function storeConformance(t: Test, makeStore: MakeStore): void {
  entityConformance(t, makeStore);
  messagingConformance(t, makeStore);
  coordinationConformance(t, makeStore);
  reopenConformance(t, makeStore);
}
