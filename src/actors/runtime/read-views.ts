import type { JsonValue } from '../../shared/json.js';
import type { EntityRef, Store } from '../../store/store.js';
import type { PersistedActorState } from './actor-kind.js';
import type { ActorRouter } from './router.js';
import { expandState } from './context-storage.js';

/**
 * Public views of entities on any shard, in `refs` order; null where none
 * exists. Stored views are read as they are; a kind whose views are
 * `derived` (see `ActorKind.readModelStorage`) has its snapshots loaded, one
 * call per shard, and its view worked out here.
 */
export async function readViews(store: Store, router: ActorRouter, refs: readonly EntityRef[]): Promise<(JsonValue | null)[]> {
  const views = new Array<JsonValue | null>(refs.length).fill(null);
  const stored: number[] = [];
  const derivedByShard = new Map<number, number[]>();
  refs.forEach((ref, i) => {
    if (router.kindOf(ref).readModelStorage !== 'derived') return void stored.push(i);
    const shard = router.shardOf(ref);
    const list = derivedByShard.get(shard);
    if (list) list.push(i);
    else derivedByShard.set(shard, [i]);
  });
  const refAt = (i: number) => refs[i] as EntityRef;
  const reads: Promise<void>[] = [];
  if (stored.length > 0) {
    const located = stored.map((i) => ({ shard: router.shardOf(refAt(i)), ref: refAt(i) }));
    reads.push(store.readReadModels(located).then((found) => found.forEach((view, j) => (views[stored[j] as number] = view))));
  }
  for (const [shard, indices] of derivedByShard) {
    const loading = store.loadEntities(shard, indices.map(refAt)).then((entities) =>
      entities.forEach((entity, j) => {
        if (entity === null) return;
        const kind = router.kindOf(entity.ref);
        const view = kind.readModel?.(expandState(kind, entity.snapshot as unknown as PersistedActorState), entity.ref.id);
        views[indices[j] as number] = view ?? null;
      }),
    );
    reads.push(loading);
  }
  await Promise.all(reads);
  return views;
}
